//! loyalty-tier: a Wayline condition that passes when a profile's loyalty points put it in at
//! least the configured tier.
//!
//! Config: `{"tier":"gold"|"silver"|"bronze", "includeEventPoints": false}`.
//! Points come from `profile.attributes.points` (missing or null counts as 0). With
//! `includeEventPoints`, the triggering event's `data.points` are added too, for journeys that
//! react to the very purchase that earns the points, before the profile has been updated.

use wayline::{ConditionInput, ConditionOutput, Error, Kind, Value};

/// Tiers in ascending order, with the points each one starts at.
const TIERS: [(&str, f64); 3] = [("bronze", 0.0), ("silver", 500.0), ("gold", 1000.0)];

fn loyalty_tier(input: &ConditionInput) -> Result<ConditionOutput, Error> {
    let tier = input.config.get("tier");
    let wanted = TIERS
        .iter()
        .position(|(name, _)| tier.str_eq(name))
        .ok_or_else(|| match tier.as_str() {
            Some(t) => Error::invalid_config(format!("config.tier {:?} is not gold, silver or bronze", t)),
            None if tier.is_null() => Error::invalid_config("config.tier is required: gold, silver or bronze"),
            None => Error::invalid_config(format!("config.tier must be a string, got {}", tier.raw())),
        })?;
    let include_event = match input.config.get("includeEventPoints") {
        v if v.is_null() => false,
        v => v.as_bool().ok_or_else(|| Error::invalid_config("config.includeEventPoints must be a boolean"))?,
    };

    let mut points = points_of(input.profile.attributes.get("points"), "profile.attributes.points")?;
    if include_event {
        points += points_of(input.event.data.get("points"), "event.data.points")?;
    }

    // The highest tier whose threshold the points reach; bronze starts at 0, so negative
    // balances (refunds) still count as bronze.
    let reached = TIERS.iter().rposition(|&(_, min)| points >= min).unwrap_or(0);
    Ok(ConditionOutput::with_reason(
        reached >= wanted,
        format!("points {} → {}", points, TIERS[reached].0),
    ))
}

/// Reads a points value: a number, or missing/null for none. Anything else is bad input
/// rather than silently 0, so a broken import shows up in traces.
fn points_of(v: Value, what: &str) -> Result<f64, Error> {
    match v.kind() {
        None | Some(Kind::Null) => Ok(0.0),
        Some(Kind::Number) => Ok(v.as_f64().unwrap_or(0.0)),
        Some(_) => Err(Error::invalid_input(format!("{} must be a number, got {}", what, v.raw()))),
    }
}

wayline::condition!(loyalty_tier);

// Native unit tests, without a host (see sdk/rust/README.md, "Testing"):
//   rustc --edition 2021 --crate-type rlib --crate-name wayline sdk/rust/src/lib.rs -o /tmp/libwayline.rlib
//   rustc --edition 2021 --test --extern wayline=/tmp/libwayline.rlib lib.rs -o /tmp/t && /tmp/t
#[cfg(test)]
mod tests {
    use super::*;
    use wayline::json::Document;

    fn run(input: &str) -> Result<ConditionOutput, Error> {
        let doc = Document::parse(input).expect("test input is JSON");
        loyalty_tier(&ConditionInput::from_value(doc.root())?)
    }

    #[test]
    fn tiers() {
        let out = run(r#"{"config":{"tier":"silver"},"profile":{"attributes":{"points":750}}}"#).unwrap();
        assert_eq!(out, ConditionOutput::with_reason(true, "points 750 → silver"));
        let err = run(r#"{"config":{"tier":"diamond"}}"#).unwrap_err();
        assert_eq!(err.code, wayline::ErrorCode::InvalidConfig);
    }
}
