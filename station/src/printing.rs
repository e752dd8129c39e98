//! Label printing in the station: print queue, job log, reprint by label id.
