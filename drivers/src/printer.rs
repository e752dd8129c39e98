//! Label printers: transports (TCP 9100, USB printer class, rusb bulk, CUPS spooler) and status queries.
