//! Request budgets: how many replay requests one scan, and one host within it, may send.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetExhausted {
    #[error("the scan's replay budget ({0} requests) is spent")]
    Scan(u32),
    #[error("the replay budget for host {host} ({limit} requests) is spent")]
    Host { host: String, limit: u32 },
}

#[derive(Debug)]
pub struct Budget {
    per_scan: u32,
    per_host: u32,
    spent: Mutex<Spent>,
}

#[derive(Debug, Default)]
struct Spent {
    total: u32,
    by_host: HashMap<String, u32>,
}

impl Budget {
    pub fn new(per_scan: u32, per_host: u32) -> Budget {
        Budget {
            per_scan,
            per_host,
            spent: Mutex::new(Spent::default()),
        }
    }

    /// Takes one request from both budgets, or neither.
    pub fn spend(&self, host: &str) -> Result<(), BudgetExhausted> {
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if spent.total >= self.per_scan {
            return Err(BudgetExhausted::Scan(self.per_scan));
        }
        let host_count = spent.by_host.get(host).copied().unwrap_or(0);
        if host_count >= self.per_host {
            return Err(BudgetExhausted::Host {
                host: host.to_owned(),
                limit: self.per_host,
            });
        }
        spent.total += 1;
        spent.by_host.insert(host.to_owned(), host_count + 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_scan_limits_both_hold() {
        let budget = Budget::new(3, 2);
        assert!(budget.spend("a").is_ok());
        assert!(budget.spend("a").is_ok());
        assert!(matches!(
            budget.spend("a"),
            Err(BudgetExhausted::Host { limit: 2, .. })
        ));
        assert!(budget.spend("b").is_ok());
        assert_eq!(budget.spend("b"), Err(BudgetExhausted::Scan(3)));
    }
}
