//! Rating in the station: loading rate cards (TOML/JSON/xlsx/CSV) and quoting pack results.
