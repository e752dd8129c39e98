//! Test helper binary: the `packbench` command line, built inside the tests package so that
//! scenario tests can run (and SIGKILL) a real station process via `CARGO_BIN_EXE_pb-helper`.

fn main() -> std::process::ExitCode {
    station::cli::main()
}
