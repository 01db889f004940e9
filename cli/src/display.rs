//! How progress is shown: a live indicatif display on a terminal (one line per step: pending ·
//! running · complete · errored, the step's message and its time), or plain lines for CI and
//! logs (`--no-progress`, or stderr not a terminal), which carry no escape codes. The steps are
//! the ones the server sends, in its order; the CLI knows no step name of its own. Lines a step
//! asks to have repeated at the end (its `headline`, e.g. drift's "3 changes since 1 Dec: …")
//! are kept for `Outcome` to print.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use recon_contracts::{RecordedEvent, Step, StepStatus};

use crate::progress::event_line;

const TICK: Duration = Duration::from_millis(120);

pub struct Display {
    mode: Mode,
    /// Headlines of completed steps, in the order they came, each one terminal-safe line.
    headlines: Vec<String>,
}

enum Mode {
    Lines,
    Live(Live),
}

impl Display {
    /// The live display when stderr is a terminal and `--no-progress` was not given, with a
    /// pending line for each of `steps`.
    pub fn for_flags(no_progress: bool, steps: &[Step]) -> Display {
        let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
        let mode = if no_progress || dumb || !std::io::stderr().is_terminal() {
            Mode::Lines
        } else {
            let mut live = Live::new();
            live.add_steps(steps);
            Mode::Live(live)
        };
        Display {
            mode,
            headlines: Vec::new(),
        }
    }

    /// Steps the server named that have no line yet, appended in the server's order.
    pub fn add_steps(&mut self, steps: &[Step]) {
        if let Mode::Live(live) = &mut self.mode {
            live.add_steps(steps);
        }
    }

    pub fn show(&mut self, event: &RecordedEvent) {
        self.keep_headline(event);
        match &mut self.mode {
            Mode::Lines => eprintln!("{}", event_line(event)),
            Mode::Live(live) => live.show(event),
        }
    }

    fn keep_headline(&mut self, event: &RecordedEvent) {
        let line = event.headline().map(crate::exit::one_line);
        if let Some(line) = line.filter(|line| !line.is_empty()) {
            self.headlines.push(line);
        }
    }

    /// The headlines of the steps shown so far, to print when the scan ends.
    pub fn take_headlines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.headlines)
    }

    /// A remark that is not an event (e.g. falling back to polling).
    pub fn note(&mut self, text: &str) {
        match &mut self.mode {
            Mode::Lines => eprintln!("recon: {text}"),
            Mode::Live(live) => {
                let _ = live.multi.println(format!("recon: {text}"));
            }
        }
    }

    /// Leaves the final state of every line on the screen.
    pub fn finish(&mut self) {
        if let Mode::Live(live) = &mut self.mode {
            live.finish();
        }
    }
}

pub struct Live {
    multi: MultiProgress,
    bars: HashMap<Step, ProgressBar>,
    started_at: HashMap<Step, DateTime<Utc>>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

impl Live {
    fn new() -> Live {
        Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: HashMap::new(),
            started_at: HashMap::new(),
        }
    }

    fn add_steps(&mut self, steps: &[Step]) {
        for step in steps {
            self.bar(step);
        }
    }

    /// The step's line, added as pending when the server had not named the step before.
    fn bar(&mut self, step: &Step) -> ProgressBar {
        let multi = &self.multi;
        self.bars
            .entry(step.clone())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style("  · {prefix:<14} pending"));
                bar.set_prefix(step.as_str().to_owned());
                bar.tick();
                bar
            })
            .clone()
    }

    fn show(&mut self, event: &RecordedEvent) {
        let bar = self.bar(&event.step);
        let message = event
            .message
            .as_deref()
            .map(crate::exit::one_line)
            .unwrap_or_default();
        match event.status {
            StepStatus::Started => {
                self.started_at.insert(event.step.clone(), event.created_at);
                bar.set_style(style(
                    "  {spinner} {prefix:<14} running   {elapsed:>5}  {wide_msg}",
                ));
                bar.reset_elapsed();
                bar.set_message(message);
                bar.enable_steady_tick(TICK);
            }
            StepStatus::Complete => {
                let took = self.took(event);
                bar.set_style(style("  ✓ {prefix:<14} complete  {wide_msg}"));
                bar.finish_with_message(join(&took, &message));
            }
            StepStatus::Errored => {
                let took = self.took(event);
                bar.set_style(style("  ✗ {prefix:<14} errored   {wide_msg}"));
                bar.abandon_with_message(join(&took, &message));
            }
        }
    }

    /// The step's time from its started and finished events (the server's clock).
    fn took(&self, event: &RecordedEvent) -> String {
        self.started_at
            .get(&event.step)
            .and_then(|started| (event.created_at - *started).to_std().ok())
            .map(|took| format!("{:>5.1}s", took.as_secs_f64()))
            .unwrap_or_else(|| "     ".to_owned())
    }

    fn finish(&mut self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

fn join(took: &str, message: &str) -> String {
    if message.is_empty() {
        took.to_owned()
    } else {
        format!("{took}  {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recon_contracts::headline_metadata;
    use uuid::Uuid;

    fn event(step: &'static str, status: StepStatus, headline: Option<&str>) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::new_v4(),
            scan_id: Uuid::nil(),
            step: Step::named(step),
            status,
            message: None,
            metadata: headline_metadata(headline),
            created_at: Utc::now(),
            cursor: 1,
            terminal: false,
        }
    }

    #[test]
    fn headlines_of_completed_steps_are_kept_in_order_and_made_terminal_safe() {
        let mut display = Display::for_flags(true, &[]);
        display.show(&event("detection", StepStatus::Complete, None));
        display.show(&event(
            "drift",
            StepStatus::Complete,
            Some("2 changes since 1 Dec:\n datadome added\u{1b}[2J"),
        ));
        display.show(&event("later", StepStatus::Started, Some("not a headline")));
        display.show(&event("later", StepStatus::Complete, Some("  ")));
        display.show(&event("render", StepStatus::Complete, Some("report ready")));
        assert_eq!(
            display.take_headlines(),
            ["2 changes since 1 Dec: datadome added", "report ready"]
        );
        assert!(display.take_headlines().is_empty());
    }
}
