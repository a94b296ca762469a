//! Command-line flags for the examples: every flag takes a value, written `--flag value` or
//! `--flag=value`.

/// What every example accepts besides its own flags.
const COMMON_USAGE: &str = "[--threads N] (or NN_THREADS): threads per training step and \
inference call, default every core; any count gives the same results";

/// The `(flag, value)` pairs on the command line, in order. `--help` or `-h` prints `usage` and
/// exits; a flag without its value is an error. `--threads N`, which every example takes, is
/// applied here and not returned.
pub fn flags(usage: &str) -> Result<Vec<(String, String)>, String> {
    if let Ok(text) = std::env::var("NN_THREADS") {
        nn::linalg::threads::parse_threads(&text)
            .map_err(|error| format!("`NN_THREADS`: {error}"))?;
    }
    let mut pairs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{usage}\n{COMMON_USAGE}");
            std::process::exit(0);
        }
        let pair = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), value.to_string()),
            None => {
                let value = args.next().ok_or(format!("`{arg}` needs a value"))?;
                (arg, value)
            }
        };
        if pair.0 == "--threads" {
            let threads = nn::linalg::threads::parse_threads(&pair.1)
                .map_err(|error| format!("`--threads`: {error}"))?;
            nn::linalg::threads::set_default_threads(threads)
                .map_err(|error| format!("`--threads`: {error}"))?;
            continue;
        }
        pairs.push(pair);
    }
    Ok(pairs)
}

/// `value` parsed as a `T`, or an error naming `flag`.
pub fn parse_value<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("invalid value `{value}` for `{flag}`"))
}
