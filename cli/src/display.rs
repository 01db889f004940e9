//! How progress is shown: a live indicatif display on a terminal (one line per step: pending ·
//! running · complete · errored, the step's message and its time), or plain lines for CI and
//! logs (`--no-progress`, or stderr not a terminal), which carry no escape codes. The steps are
//! the ones the server sends, in its order; the CLI knows no step name of its own.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use recon_contracts::{RecordedEvent, Step, StepStatus};

use crate::progress::event_line;

const TICK: Duration = Duration::from_millis(120);

pub enum Display {
    Lines,
    Live(Live),
}

impl Display {
    /// The live display when stderr is a terminal and `--no-progress` was not given, with a
    /// pending line for each of `steps`.
    pub fn for_flags(no_progress: bool, steps: &[Step]) -> Display {
        let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
        if no_progress || dumb || !std::io::stderr().is_terminal() {
            Display::Lines
        } else {
            let mut live = Live::new();
            live.add_steps(steps);
            Display::Live(live)
        }
    }

    /// Steps the server named that have no line yet, appended in the server's order.
    pub fn add_steps(&mut self, steps: &[Step]) {
        if let Display::Live(live) = self {
            live.add_steps(steps);
        }
    }

    pub fn show(&mut self, event: &RecordedEvent) {
        match self {
            Display::Lines => eprintln!("{}", event_line(event)),
            Display::Live(live) => live.show(event),
        }
    }

    /// A remark that is not an event (e.g. falling back to polling).
    pub fn note(&mut self, text: &str) {
        match self {
            Display::Lines => eprintln!("recon: {text}"),
            Display::Live(live) => {
                let _ = live.multi.println(format!("recon: {text}"));
            }
        }
    }

    /// Leaves the final state of every line on the screen.
    pub fn finish(&mut self) {
        if let Display::Live(live) = self {
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
