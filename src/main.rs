fn main() -> std::process::ExitCode {
    orderspot::cli::main()
}
