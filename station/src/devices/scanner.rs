//! Scanner sources in the station: own the source threads and forward scans as scan intents.
