//! Alerter tests.
