//! The adapters that connect each stage's plain function to the runtime's stage loop: load the
//! inputs the stage reads, call it, store its result with a summary line. They live together,
//! here, so stage crates stay leaves that link no database, NATS or cloud client.

mod analysis;
mod detection;
mod drift;
mod intent;
mod render;
mod scrub;
mod synthesis;
mod validation;

pub use analysis::AnalysisStage;
pub use detection::DetectionStage;
pub use drift::DriftStage;
pub use intent::IntentStage;
pub use render::RenderStage;
pub use scrub::ScrubStage;
pub use synthesis::SynthesisStage;
pub use validation::ValidationStage;
