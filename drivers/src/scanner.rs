//! Scanners: keyboard-wedge decoder, evdev, serial, USB HID-POS sources, de-duplication, simulator.
