//! Refuses CLI versions below the supported minimum with 426 and the upgrade command.
//! Browsers and other clients pass: only `browser-recon/<version>` User-Agents are judged.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use recon_contracts::version::SemVer;

use crate::{ApiError, AppState};

pub async fn require_supported_client(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .and_then(SemVer::from_user_agent);
    let minimum = SemVer::parse(&state.settings.versions.minimum_cli);
    if let (Some(client), Some(minimum)) = (announced, minimum) {
        // 0.2.x clients may still reach their legacy endpoint, which answers 410 after its
        // sunset with the same upgrade command.
        let exempt =
            request.uri().path() == "/version" || request.uri().path().ends_with("/complete");
        if client < minimum && !exempt {
            return ApiError::UpgradeRequired(format!(
                "browser-recon {client} is no longer supported (minimum {minimum}); upgrade with: pipx upgrade browser-recon"
            ))
            .into_response();
        }
    }
    next.run(request).await
}
