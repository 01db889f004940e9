//! Quota refusals are answered slowly: a 429 leaves after a pause of up to a second (less when
//! the quota frees sooner). A client that ignores Retry-After and asks again at once can then
//! get at most about one refusal per second per connection, so an account flooding the api
//! with refused requests holds idle connections rather than the CPU and the database pool that
//! other accounts' scans need.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The longest a refusal is held back.
pub const MAX_REFUSAL_PACE: Duration = Duration::from_secs(1);

/// How long to hold back the response it is attached to.
#[derive(Debug, Clone, Copy)]
pub struct RefusalPace(Duration);

impl RefusalPace {
    /// The pause for a refusal whose quota frees after `retry_after`.
    pub fn until(retry_after: Duration) -> RefusalPace {
        RefusalPace(retry_after.min(MAX_REFUSAL_PACE))
    }
}

pub async fn pace_refusals(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(RefusalPace(pause)) = response.extensions().get::<RefusalPace>().copied() {
        tokio::time::sleep(pause).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_is_at_most_a_second_and_never_past_the_retry_time() {
        assert_eq!(
            RefusalPace::until(Duration::from_secs(3600)).0,
            MAX_REFUSAL_PACE
        );
        assert_eq!(
            RefusalPace::until(Duration::from_millis(200)).0,
            Duration::from_millis(200)
        );
    }
}
