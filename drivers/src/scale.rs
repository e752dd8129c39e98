//! Scales: protocol codecs (sans-IO), stability and auto-capture, serial/USB transports, probe, simulator.
