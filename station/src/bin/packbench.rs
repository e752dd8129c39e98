//! The `packbench` command-line tool. All logic lives in [`station::cli`].

fn main() -> std::process::ExitCode {
    station::cli::main()
}
