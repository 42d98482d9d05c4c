//! The `zhengzhao` command line.

fn main() -> std::process::ExitCode {
    zhengzhao::cli::main()
}
