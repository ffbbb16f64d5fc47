//! `adaptd`: see `adaptd --help`.

fn main() -> std::process::ExitCode {
    adaptd::cli::main()
}
