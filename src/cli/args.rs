//! The command line read from its table (`cli::CLI`): commands, their
//! flags (`config::Flag`) and help, with the rules and messages clap had
//! for them. clap itself cost the router's binary about 100 KB for what
//! this file does.

use crate::config::{Flag, Given, Value};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// One command and its subcommands.
pub(crate) struct Sub {
    pub(crate) name: &'static str,
    pub(crate) about: &'static str,
    pub(crate) flags: &'static [Flag],
    pub(crate) subs: &'static [Sub],
}

impl Sub {
    /// The flags its subcommands inherit: its own global ones too.
    fn passed_on(&self, inherited: &[&'static Flag]) -> Vec<&'static Flag> {
        let own = self.flags.iter().filter(|flag| flag.is_global());
        inherited.iter().copied().chain(own).collect()
    }

    /// `Usage: orderspot admin create-owner [OPTIONS] --email <EMAIL> …`;
    /// `path` is how it is typed, `inherited` the global flags of the
    /// commands above it.
    fn usage(&self, path: &str, inherited: &[&Flag]) -> String {
        let mut usage = format!("Usage: {path} [OPTIONS]");
        for flag in self.flags.iter().chain(inherited.iter().copied()) {
            if flag.is_required() {
                usage.push(' ');
                usage.push_str(&flag.typed());
            }
        }
        if !self.subs.is_empty() {
            usage.push_str(" <COMMAND>");
        }
        usage
    }

    /// Its `--help`, laid out as clap's help writer did.
    pub(crate) fn help(&self, path: &str, inherited: &[&Flag]) -> String {
        let flags: Vec<&Flag> = self.flags.iter().chain(inherited.iter().copied()).collect();
        let mut commands: Vec<(String, String)> = self
            .subs
            .iter()
            .map(|sub| (sub.name.to_owned(), sub.about.to_owned()))
            .collect();
        if !commands.is_empty() {
            commands.push((
                "help".to_owned(),
                "Print this message or the help of the given subcommand(s)".to_owned(),
            ));
        }
        let (positional, named): (Vec<&Flag>, Vec<&Flag>) =
            flags.iter().partition(|flag| flag.is_positional());
        let arguments = positional
            .iter()
            .map(|flag| (flag.typed(), flag.help_text()));
        let mut options: Vec<(String, String)> = named
            .iter()
            .map(|flag| (format!("    {}", flag.typed()), flag.help_text()))
            .collect();
        options.push(("-h, --help".to_owned(), "Print help".to_owned()));
        // Only the top command has a version, and nothing to inherit.
        if inherited.is_empty() {
            options.push(("-V, --version".to_owned(), "Print version".to_owned()));
        }
        let mut text = format!("{}\n\n{}\n", self.about, self.usage(path, inherited));
        for (title, rows) in [
            ("Commands", commands),
            ("Arguments", arguments.collect()),
            ("Options", options),
        ] {
            if rows.is_empty() {
                continue;
            }
            let width = rows.iter().map(|(typed, _)| typed.len()).max().unwrap_or(0);
            text.push_str(&format!("\n{title}:\n"));
            for (typed, what) in rows {
                text.push_str(format!("  {typed:width$}  {what}").trim_end());
                text.push('\n');
            }
        }
        text
    }

    fn sub(&self, name: &[u8]) -> Option<&'static Sub> {
        self.subs.iter().find(|sub| sub.name.as_bytes() == name)
    }
}

/// What a command line gave: the subcommands named, top first, and each
/// flag's values (defaults filled in, a switch by its name alone).
pub(crate) struct Parsed {
    pub(crate) path: Vec<&'static str>,
    values: Vec<(&'static str, Option<Given>)>,
}

impl Parsed {
    /// The first value flag `name` gave, taken out.
    pub(crate) fn take(&mut self, name: &str) -> Option<Given> {
        let at = self
            .values
            .iter()
            .position(|(given, value)| *given == name && value.is_some())?;
        self.values.remove(at).1
    }

    /// Every value flag `name` gave, in the order given.
    pub(crate) fn take_all(&mut self, name: &str) -> Vec<Given> {
        std::iter::from_fn(|| self.take(name)).collect()
    }

    /// Whether switch or flag `name` was given.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(given, _)| *given == name)
    }
}

/// Where reading the command line ends without a command to run: help or
/// the version (on stdout, exit 0) or a mistake (on stderr, exit 2).
#[derive(Debug)]
pub(crate) struct Stop {
    pub(crate) text: String,
    pub(crate) mistake: bool,
}

impl Stop {
    fn shown(text: String) -> Stop {
        Stop {
            text,
            mistake: false,
        }
    }

    /// clap's error layout: the message, a usage line where clap showed
    /// one, the pointer to `--help`.
    pub(crate) fn error(message: &str, usage: Option<&str>) -> Stop {
        let mut text = format!("error: {message}\n\n");
        if let Some(usage) = usage {
            text.push_str(usage);
            text.push_str("\n\n");
        }
        text.push_str("For more information, try '--help'.\n");
        Stop {
            text,
            mistake: true,
        }
    }

    /// Prints it where it belongs and ends the process.
    pub(crate) fn exit(self) -> ! {
        // Nothing to do if the terminal is gone.
        let _ = if self.mistake {
            std::io::stderr().write_all(self.text.as_bytes())
        } else {
            std::io::stdout().write_all(self.text.as_bytes())
        };
        std::process::exit(if self.mistake { 2 } else { 0 })
    }
}

/// The words still to read.
type Words = std::iter::Peekable<std::vec::IntoIter<OsString>>;

/// Where the reading is: the command reached, how it is typed, what it
/// inherits and what it has been given.
struct Reader {
    command: &'static Sub,
    path: String,
    inherited: Vec<&'static Flag>,
    /// Anything given after the command's name.
    given: bool,
    positionals: usize,
    only_positional: bool,
    parsed: Parsed,
}

impl Reader {
    fn usage(&self) -> String {
        self.command.usage(&self.path, &self.inherited)
    }

    fn help(&self) -> String {
        self.command.help(&self.path, &self.inherited)
    }

    fn version(&self) -> Stop {
        Stop::shown(format!(
            "{} {}\n",
            self.command.name,
            env!("CARGO_PKG_VERSION")
        ))
    }

    fn flags(&self) -> impl Iterator<Item = &'static Flag> + '_ {
        self.command
            .flags
            .iter()
            .chain(self.inherited.iter().copied())
    }

    fn unexpected(&self, arg: &[u8], tip: Option<String>) -> Stop {
        let mut message = format!("unexpected argument '{}' found", lossy(arg));
        if let Some(tip) = tip {
            message.push_str(&format!("\n\n  tip: {tip}"));
        }
        Stop::error(&message, Some(&self.usage()))
    }

    /// `--name`, `--name VALUE` or `--name=VALUE`.
    fn long(&mut self, arg: &[u8], rest: &mut Words) -> Result<(), Stop> {
        let long = &arg[2..];
        let (name, inline) = match long.iter().position(|&b| b == b'=') {
            Some(at) => (&long[..at], Some(&long[at + 1..])),
            None => (long, None),
        };
        let no_value = |flag: &str| {
            let message = |value: &[u8]| {
                format!(
                    "unexpected value '{}' for '--{flag}' found; no more were expected",
                    lossy(value)
                )
            };
            inline.map(|value| Stop::error(&message(value), Some(&self.usage())))
        };
        if name == b"help" {
            return Err(no_value("help").unwrap_or_else(|| Stop::shown(self.help())));
        }
        if name == b"version" && self.inherited.is_empty() {
            return Err(no_value("version").unwrap_or_else(|| self.version()));
        }
        let Some(flag) = self
            .flags()
            .find(|flag| !flag.is_positional() && flag.name().as_bytes() == name)
        else {
            let tip = self
                .flags()
                .any(Flag::is_positional)
                .then(|| format!("to pass '{}' as a value, use '-- {0}'", lossy(arg)));
            return Err(self.unexpected(arg, tip));
        };
        if self.parsed.has(flag.name()) && !matches!(flag.value(), Value::Many(_)) {
            let message = format!(
                "the argument '{}' cannot be used multiple times",
                flag.typed()
            );
            return Err(Stop::error(&message, Some(&self.usage())));
        }
        if let Value::Switch = flag.value() {
            if let Some(stop) = no_value(flag.name()) {
                return Err(stop);
            }
            self.parsed.values.push((flag.name(), None));
            return Ok(());
        }
        let value = match inline {
            Some(value) => value.to_vec(),
            // A word starting with '-' is taken for a flag, as clap does.
            None => match rest.peek().map(|next| next.as_bytes()) {
                Some(next) if next == b"-" || !next.starts_with(b"-") => {
                    rest.next().map(OsString::into_vec).unwrap_or_default()
                }
                next => {
                    let tip = next.map(|next| {
                        format!(
                            "to pass '{}' as a value, use '--{}={0}'",
                            lossy(next),
                            flag.name()
                        )
                    });
                    return Err(value_required(flag, tip));
                }
            },
        };
        self.value(flag, value)
    }

    /// A word that is not a flag: a subcommand's name or a positional value.
    fn word(&mut self, arg: Vec<u8>, rest: &mut Words) -> Result<(), Stop> {
        if self.command.subs.is_empty() {
            let Some(flag) = self
                .command
                .flags
                .iter()
                .filter(|flag| flag.is_positional())
                .nth(self.positionals)
            else {
                return Err(self.unexpected(&arg, None));
            };
            self.positionals += 1;
            self.given = true;
            return self.value(flag, arg);
        }
        if self.only_positional {
            return Err(self.unexpected(&arg, None));
        }
        if arg == b"help" {
            return Err(self.help_of(rest));
        }
        let Some(sub) = self.command.sub(&arg) else {
            let message = format!("unrecognized subcommand '{}'", lossy(&arg));
            return Err(Stop::error(&message, Some(&self.usage())));
        };
        self.descend(sub);
        Ok(())
    }

    fn descend(&mut self, sub: &'static Sub) {
        self.inherited = self.command.passed_on(&self.inherited);
        self.command = sub;
        self.path = format!("{} {}", self.path, sub.name);
        self.parsed.path.push(sub.name);
        self.given = false;
        self.positionals = 0;
    }

    /// `help [COMMAND…]`: the help of the command the words name.
    fn help_of(&mut self, names: &mut Words) -> Stop {
        for name in names {
            let name = name.as_bytes();
            if name == b"help" {
                continue;
            }
            match self.command.sub(name) {
                Some(sub) => self.descend(sub),
                None => {
                    let message = format!("unrecognized subcommand '{}'", lossy(name));
                    return Stop::error(&message, Some(&self.usage()));
                }
            }
        }
        Stop::shown(self.help())
    }

    /// The value read as the flag's type, and kept.
    fn value(&mut self, flag: &'static Flag, value: Vec<u8>) -> Result<(), Stop> {
        let given = read_value(flag, value).map_err(|e| match e {
            Refused::Empty => value_required(flag, None),
            Refused::NotUtf8 => Stop::error(
                "invalid UTF-8 was detected in one or more arguments",
                Some(&self.usage()),
            ),
            Refused::Invalid(message) => Stop::error(&message, None),
        })?;
        self.parsed.values.push((flag.name(), Some(given)));
        Ok(())
    }

    /// At the end: a subcommand where one is needed, every required flag
    /// and what given flags require, then the defaults.
    fn finish(mut self) -> Result<Parsed, Stop> {
        if !self.command.subs.is_empty() {
            if !self.given {
                // Nothing given to a command that needs a subcommand: its help.
                return Err(Stop {
                    text: self.help(),
                    mistake: true,
                });
            }
            let mut names: Vec<&str> = self.command.subs.iter().map(|sub| sub.name).collect();
            names.push("help");
            let message = format!(
                "'{}' requires a subcommand but one was not provided\n  [subcommands: {}]",
                self.path,
                names.join(", ")
            );
            return Err(Stop::error(&message, Some(&self.usage())));
        }
        // What the given flags require, and what that requires in turn.
        let mut wanted: Vec<&str> = Vec::new();
        let mut adding: Vec<&str> = self
            .flags()
            .filter(|flag| flag.is_required() || self.parsed.has(flag.name()))
            .map(Flag::name)
            .collect();
        while let Some(name) = adding.pop() {
            if !wanted.contains(&name) {
                wanted.push(name);
                let flag = self.flags().find(|flag| flag.name() == name);
                adding.extend(flag.map(Flag::requirements).unwrap_or_default());
            }
        }
        let missing: Vec<String> = self
            .flags()
            .filter(|flag| wanted.contains(&flag.name()) && !self.parsed.has(flag.name()))
            .map(|flag| format!("\n  {}", flag.typed()))
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "the following required arguments were not provided:{}",
                missing.concat()
            );
            return Err(Stop::error(&message, Some(&self.usage())));
        }
        let defaults: Vec<&'static Flag> = self
            .flags()
            .filter(|flag| flag.default_value().is_some() && !self.parsed.has(flag.name()))
            .collect();
        for flag in defaults {
            let value = flag.default_value().unwrap_or_default();
            self.value(flag, value.as_bytes().to_vec())?;
        }
        Ok(self.parsed)
    }
}

/// Reads `args` (without the program's name) by the table from `top`.
pub(crate) fn parse(top: &'static Sub, args: Vec<OsString>) -> Result<Parsed, Stop> {
    let mut reader = Reader {
        command: top,
        path: top.name.to_owned(),
        inherited: Vec::new(),
        given: false,
        positionals: 0,
        only_positional: false,
        parsed: Parsed {
            path: Vec::new(),
            values: Vec::new(),
        },
    };
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let arg = arg.into_vec();
        if reader.only_positional || arg == b"-" || !arg.starts_with(b"-") {
            reader.word(arg, &mut args)?;
            continue;
        }
        reader.given = true;
        if arg == b"--" {
            reader.only_positional = true;
        } else if arg.starts_with(b"--") {
            reader.long(&arg, &mut args)?;
        } else {
            // Short flags: only -h, and -V on the top command; clap acted on
            // the first of several run together (`-hV`).
            match arg[1] {
                b'h' => return Err(Stop::shown(reader.help())),
                b'V' if reader.inherited.is_empty() => return Err(reader.version()),
                _ => {
                    let short: String = lossy(&arg).chars().take(2).collect();
                    return Err(reader.unexpected(short.as_bytes(), None));
                }
            }
        }
    }
    reader.finish()
}

fn value_required(flag: &Flag, tip: Option<String>) -> Stop {
    let mut message = format!(
        "a value is required for '{}' but none was supplied",
        flag.typed()
    );
    if let Value::OneOf(words) = flag.value() {
        message.push_str(&format!("\n  [possible values: {}]", words.join(", ")));
    }
    if let Some(tip) = tip {
        message.push_str(&format!("\n\n  tip: {tip}"));
    }
    Stop::error(&message, None)
}

enum Refused {
    Empty,
    NotUtf8,
    Invalid(String),
}

/// A value as its flag's type: a path any bytes but none, every other
/// value UTF-8 read by the flag's parser or one of its words.
fn read_value(flag: &Flag, value: Vec<u8>) -> Result<Given, Refused> {
    let words = match flag.value() {
        Value::Path | Value::OneOf(_) if value.is_empty() => return Err(Refused::Empty),
        Value::Path => return Ok(Given::Path(PathBuf::from(OsString::from_vec(value)))),
        Value::OneOf(words) => words,
        Value::Switch | Value::One(_) | Value::Many(_) => &[],
    };
    let text = String::from_utf8(value).map_err(|_| Refused::NotUtf8)?;
    let why = match flag.value() {
        Value::One(parse) | Value::Many(parse) => match parse(&text) {
            Ok(given) => return Ok(given),
            Err(why) => format!(": {why}"),
        },
        _ if words.contains(&text.as_str()) => return Ok(Given::Text(text)),
        _ => format!("\n  [possible values: {}]", words.join(", ")),
    };
    Err(Refused::Invalid(format!(
        "invalid value '{text}' for '{}'{why}",
        flag.typed()
    )))
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    OsStr::from_bytes(bytes).to_string_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CLI;

    fn read(line: &str) -> Result<Parsed, Stop> {
        parse(&CLI, line.split_whitespace().map(OsString::from).collect())
    }

    fn mistake(line: &str) -> String {
        match read(line) {
            Err(stop) if stop.mistake => stop.text,
            Err(stop) => panic!("{line}: shown, not refused: {}", stop.text),
            Ok(_) => panic!("{line}: taken"),
        }
    }

    fn shown(line: &str) -> String {
        match read(line) {
            Err(stop) if !stop.mistake => stop.text,
            Err(stop) => panic!("{line}: refused: {}", stop.text),
            Ok(_) => panic!("{line}: taken"),
        }
    }

    /// Every command's help names its usage, subcommands and every flag it
    /// takes, its own and inherited, with the flag's text; every default
    /// is a value its flag takes, and names are not used twice.
    #[test]
    fn every_help_lists_what_its_command_takes() {
        fn check(sub: &Sub, path: &str, inherited: &[&'static Flag]) {
            let help = sub.help(path, inherited);
            assert!(help.starts_with(sub.about), "{help}");
            assert!(
                help.contains(&format!("\nUsage: {path} [OPTIONS]")),
                "{help}"
            );
            let flags: Vec<&Flag> = sub.flags.iter().chain(inherited.iter().copied()).collect();
            for (at, flag) in flags.iter().enumerate() {
                assert!(
                    flags[..at].iter().all(|other| other.name() != flag.name()),
                    "{path}: {} twice",
                    flag.name()
                );
                let line = help
                    .lines()
                    .find(|line| line.trim_start().starts_with(&flag.typed()))
                    .unwrap_or_else(|| panic!("{path}: no {}\n{help}", flag.typed()));
                assert!(line.trim_end().ends_with(&flag.help_text()), "{line}");
                if let Some(value) = flag.default_value() {
                    assert!(read_value(flag, value.into()).is_ok(), "{path}: {value}");
                }
            }
            let passed = sub.passed_on(inherited);
            for child in sub.subs {
                assert!(help.contains(&format!("\n  {}", child.name)), "{help}");
                check(child, &format!("{path} {}", child.name), &passed);
            }
        }
        check(&CLI, CLI.name, &[]);
        let create_owner = CLI.subs[1].subs[0].help("orderspot admin create-owner", &[]);
        assert!(
            create_owner.contains(
                "Usage: orderspot admin create-owner [OPTIONS] --email <EMAIL> --password-stdin\n"
            ),
            "{create_owner}"
        );
    }

    #[test]
    fn values_flags_and_defaults_are_read_where_they_are_given() {
        let mut parsed = read("clients allow --log-level=debug 10.0.0.1 --minutes 5").unwrap();
        assert_eq!(parsed.path, ["clients", "allow"]);
        assert_eq!(parsed.take("minutes").and_then(Given::count), Some(5));
        assert!(parsed.take("target").and_then(Given::target).is_some());
        assert_eq!(
            parsed.take("log-level").and_then(Given::level),
            Some(log::LevelFilter::Debug)
        );
        let data_dir = parsed.take("data-dir").and_then(Given::path);
        assert_eq!(data_dir, Some(PathBuf::from("./orderspot-data")));

        let mut parsed = read("serve --upstream 10.0.0.1 --demo --upstream=10.0.0.2:5353").unwrap();
        assert!(parsed.has("demo"));
        assert!(!parsed.has("dns"));
        assert_eq!(parsed.take_all("upstream").len(), 2);
        assert_eq!(
            parsed.take("firewall").and_then(Given::text).as_deref(),
            Some("none")
        );

        // After `--`, a word starting with '-' is a value.
        let mut parsed = read("backup -- --file").unwrap();
        let file = parsed.take("file").and_then(Given::path);
        assert_eq!(file, Some(PathBuf::from("--file")));
    }

    #[test]
    fn help_and_version_are_shown_as_clap_showed_them() {
        let top = CLI.help("orderspot", &[]);
        assert_eq!(shown("--help"), top);
        assert_eq!(shown("-h"), top);
        assert_eq!(shown("help"), top);
        assert_eq!(shown("--help bogus"), top);
        assert_eq!(shown("--version"), "orderspot 0.1.0\n");
        assert_eq!(shown("-V"), "orderspot 0.1.0\n");
        let allow = shown("clients allow --help");
        assert!(allow.starts_with("Let a client (IP or MAC) past the portal"));
        assert_eq!(shown("help clients allow"), allow);
        assert_eq!(shown("clients help allow"), allow);
        assert_eq!(shown("clients allow -h --bogus"), allow);
        // No arguments at all: the help, as a mistake.
        assert_eq!(mistake(""), top);
        assert_eq!(
            mistake("--data-dir /tmp admin"),
            shown("admin --help"),
            "the global flag is the top command's"
        );
    }

    #[test]
    fn mistakes_are_refused_with_clap_s_messages() {
        for (line, message) in [
            ("bogus", "error: unrecognized subcommand 'bogus'\n\nUsage: orderspot [OPTIONS] <COMMAND>\n\n"),
            ("serve --bogus", "error: unexpected argument '--bogus' found\n\nUsage: orderspot serve [OPTIONS]\n\n"),
            ("serve -x", "error: unexpected argument '-x' found\n"),
            ("serve extra", "error: unexpected argument 'extra' found\n"),
            ("serve --version", "error: unexpected argument '--version' found\n"),
            ("serve --listen", "error: a value is required for '--listen <ADDR>' but none was supplied\n\nFor more"),
            ("serve --listen bad", "error: invalid value 'bad' for '--listen <ADDR>': invalid socket address syntax\n\nFor more"),
            ("serve --demo=yes", "error: unexpected value 'yes' for '--demo' found; no more were expected\n"),
            ("serve --demo --demo", "error: the argument '--demo' cannot be used multiple times\n"),
            ("serve --mode x --mode y", "error: invalid value 'x' for '--mode <local|internet>'"),
            ("serve --listen 1.2.3.4:5 --listen 1.2.3.4:6", "error: the argument '--listen <ADDR>' cannot be used multiple times\n"),
            ("serve --firewall NFT", "error: invalid value 'NFT' for '--firewall <FIREWALL>'\n  [possible values: nft, none]\n"),
            ("serve --firewall=", "error: a value is required for '--firewall <FIREWALL>' but none was supplied\n  [possible values: nft, none]\n"),
            ("serve --arp-path=", "error: a value is required for '--arp-path <PATH>' but none was supplied\n"),
            ("serve --max-connections 0", "error: invalid value '0' for '--max-connections <N>': 0 is not in 1..=1000000\n"),
            ("serve --write-timeout -1", "error: a value is required for '--write-timeout <SECONDS>' but none was supplied\n\n  tip: to pass '-1' as a value, use '--write-timeout=-1'\n"),
            ("clients allow 10.0.0.1 --minutes=-5", "error: invalid value '-5' for '--minutes <MINUTES>': -5 is not in 1..=525600\n"),
            ("clients deny 10.0.0.1 --minutes 5", "error: unexpected argument '--minutes' found\n\n  tip: to pass '--minutes' as a value, use '-- --minutes'\n\nUsage: orderspot clients deny [OPTIONS] <TARGET>\n"),
            ("clients allow notanip", "error: invalid value 'notanip' for '<TARGET>': \"notanip\" is neither an IP address nor a MAC address\n"),
            ("clients allow 10.0.0.1 10.0.0.2", "error: unexpected argument '10.0.0.2' found\n"),
            ("clients", "Wi-Fi clients of the captive portal"),
            ("clients --log-level info", "error: 'orderspot clients' requires a subcommand but one was not provided\n  [subcommands: list, allow, deny, help]\n\nUsage: orderspot clients [OPTIONS] <COMMAND>\n"),
            ("admin create-owner", "error: the following required arguments were not provided:\n  --email <EMAIL>\n  --password-stdin\n\nUsage: orderspot admin create-owner [OPTIONS] --email <EMAIL> --password-stdin\n\nFor more information, try '--help'.\n"),
            ("backup", "error: the following required arguments were not provided:\n  <FILE>\n"),
            ("--data-dir a --data-dir b backup x", "error: the argument '--data-dir <DIR>' cannot be used multiple times\n"),
            ("--data-dir a backup x --data-dir b", "error: the argument '--data-dir <DIR>' cannot be used multiple times\n"),
            ("--log-level loud backup x", "error: invalid value 'loud' for '--log-level <LEVEL>': attempted to convert a string that doesn't match an existing log level\n"),
            ("help bogus", "error: unrecognized subcommand 'bogus'\n"),
            ("help clients allow x", "error: unrecognized subcommand 'x'\n\nUsage: orderspot clients allow [OPTIONS] <TARGET>\n"),
            ("-- serve", "error: unexpected argument 'serve' found\n"),
        ] {
            let text = mistake(line);
            assert!(text.starts_with(message), "{line}:\n{text}");
        }
        let not_utf8 = vec![
            OsString::from("serve"),
            OsString::from("--listen"),
            OsString::from_vec(vec![0xff]),
        ];
        let stop = parse(&CLI, not_utf8).err().unwrap();
        assert!(stop.text.starts_with(
            "error: invalid UTF-8 was detected in one or more arguments\n\nUsage: orderspot serve"
        ));
        // A path is any bytes.
        let path = vec![
            OsString::from("backup"),
            OsString::from_vec(vec![b'x', 0xff]),
        ];
        assert!(parse(&CLI, path).is_ok());
    }
}
