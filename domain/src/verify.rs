//! The verification state machine (二次校验): opening an order, item scans, completion,
//! weight check and supervisor override. Events in, outcomes out; time passed in. No IO.
