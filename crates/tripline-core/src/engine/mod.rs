//! The per-source detection engine (psad's check_scan / assign_danger_level).
