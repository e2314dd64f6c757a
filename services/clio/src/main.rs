//! `clio`: see `clio --help`.

fn main() -> std::process::ExitCode {
    clio_cli::main()
}
