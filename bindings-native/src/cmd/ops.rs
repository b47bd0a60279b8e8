//! `kiln ops`: `describe()` of the kernel that would run jobs.

use std::process::ExitCode;

use super::{EngineArgs, report};

pub fn ops(engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    let kernel = engine.kernel()?;
    match kernel.describe(&engine.limits()) {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}
