use clap::Parser;

fn main() {
    let cli = logsandbox::cli::Cli::parse();
    std::process::exit(logsandbox::cli::main_with(cli));
}
