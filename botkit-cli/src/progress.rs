//! Progress of `botkit markov train` on stderr.
//!
//! On a terminal it is an indicatif bar (messages read out of those in the log, learned,
//! rate, time left), redrawn in place. Anywhere else — a pipe, a log file, a test — it is a
//! plain counter line after every page of the log, since a redrawn bar there is only noise;
//! those lines are what scripts and tests read. stdout is kept for the final result.

use std::io::Write;

use botkit_plugins::markov::TrainProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar when the log's size is known.
const BAR_TEMPLATE: &str =
    "training {bar:30} {pos}/{len} messages read, {msg} learned ({elapsed} so far, {eta} left)";
/// The spinner when it is not.
const SPINNER_TEMPLATE: &str =
    "training {spinner} {pos} messages read, {msg} learned ({elapsed} so far)";

/// Shows [`TrainProgress`] as a bar or as plain lines.
pub enum TrainReporter<W: Write> {
    /// A bar redrawn on the terminal.
    Bar(ProgressBar),
    /// One line per report, written to `W`.
    Plain(W),
}

impl TrainReporter<std::io::Stderr> {
    /// The reporter for stderr: a bar when stderr is a terminal, else plain lines.
    /// `total` is how many messages the log holds, when known.
    pub fn stderr(total: Option<u64>) -> Self {
        use std::io::IsTerminal as _;
        if std::io::stderr().is_terminal() {
            Self::bar(total, ProgressDrawTarget::stderr())
        } else {
            Self::Plain(std::io::stderr())
        }
    }
}

impl<W: Write> TrainReporter<W> {
    /// A bar drawn to `target`, of `total` messages (a spinner when unknown).
    pub fn bar(total: Option<u64>, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(total, target);
        let template = if total.is_some() {
            BAR_TEMPLATE
        } else {
            SPINNER_TEMPLATE
        };
        // The templates are constants checked by a test: this never falls back in practice.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("0");
        Self::Bar(bar)
    }

    /// Shows the progress so far.
    pub fn report(&mut self, p: TrainProgress) {
        match self {
            Self::Bar(bar) => {
                // The log can grow while training reads it: never let the bar overflow.
                if bar.length().is_some_and(|len| p.read > len) {
                    bar.set_length(p.read);
                }
                bar.set_position(p.read);
                bar.set_message(p.learned.to_string());
            }
            Self::Plain(out) => {
                // A closed stderr must not stop training: the result still goes to stdout.
                let _ = writeln!(
                    out,
                    "training: {} messages read, {} learned",
                    p.read, p.learned
                );
            }
        }
    }

    /// Takes the bar off the screen; the caller prints the result.
    pub fn finish(self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(read: u64, learned: u64) -> TrainProgress {
        let mut p = TrainProgress::default();
        p.read = read;
        p.learned = learned;
        p
    }

    #[test]
    fn templates_parse() {
        for template in [BAR_TEMPLATE, SPINNER_TEMPLATE] {
            ProgressStyle::with_template(template).unwrap();
        }
    }

    #[test]
    fn plain_lines_count_read_and_learned() {
        let mut reporter = TrainReporter::Plain(Vec::new());
        reporter.report(progress(1000, 990));
        reporter.report(progress(1500, 1480));
        let TrainReporter::Plain(out) = reporter else {
            unreachable!("constructed as plain")
        };
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "training: 1000 messages read, 990 learned\ntraining: 1500 messages read, 1480 learned\n"
        );
    }

    #[test]
    fn the_bar_follows_progress_and_grows_with_the_log() {
        let mut reporter: TrainReporter<Vec<u8>> =
            TrainReporter::bar(Some(2000), ProgressDrawTarget::hidden());
        reporter.report(progress(1000, 990));
        let TrainReporter::Bar(bar) = &reporter else {
            panic!("a bar was asked for")
        };
        assert_eq!(bar.position(), 1000);
        assert_eq!(bar.message(), "990");
        assert_eq!(bar.length(), Some(2000));
        reporter.report(progress(2100, 2000));
        let TrainReporter::Bar(bar) = &reporter else {
            panic!("a bar was asked for")
        };
        assert_eq!(bar.length(), Some(2100), "rows logged during training");
        reporter.finish();
    }

    #[test]
    fn a_spinner_when_the_size_of_the_log_is_unknown() {
        let mut reporter: TrainReporter<Vec<u8>> =
            TrainReporter::bar(None, ProgressDrawTarget::hidden());
        reporter.report(progress(10, 7));
        let TrainReporter::Bar(bar) = &reporter else {
            panic!("a bar was asked for")
        };
        assert_eq!(bar.length(), None);
        assert_eq!(bar.position(), 10);
    }
}
