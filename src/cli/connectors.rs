//! `tributary connectors` (what each connector takes, with an example) and
//! `tributary check-config`.

use std::io::Write;

use crate::config::Config;

pub fn check_config(config: &Config) -> anyhow::Result<()> {
    let built = crate::registry::build(&config.connectors)?;
    for problem in &built.problems {
        eprintln!("warning: {problem}; the other recipes are loaded");
    }
    if let Some(problem) = config.federation_problem() {
        eprintln!("warning: {problem}");
    }
    println!("configuration is valid; effective values:\n");
    print!("{}", config.printable());
    Ok(())
}

pub fn list(config: &Config) -> anyhow::Result<()> {
    let built = crate::registry::build(&config.connectors)?;
    let builtin_recipes: Vec<&str> = ::connectors::recipe::embedded()
        .iter()
        .map(|recipe| recipe.name)
        .collect();
    let mut out = std::io::stdout().lock();
    for connector in built.registry.iter() {
        let info = connector.info();
        let origin = match built
            .operator_recipes
            .iter()
            .find(|(kind, _)| kind == info.kind)
        {
            Some((_, path)) => format!("  (recipe from {})", path.display()),
            None if builtin_recipes.contains(&info.kind) => "  (built-in recipe)".to_owned(),
            None => String::new(),
        };
        writeln!(out, "{}  —  {}{origin}", info.kind, info.title)?;
        if !info.description.is_empty() {
            writeln!(out, "    {}", info.description)?;
        }
        for param in &info.params {
            writeln!(
                out,
                "    param {}{}: {}",
                param.name,
                if param.required { " (required)" } else { "" },
                param.help
            )?;
        }
        writeln!(
            out,
            "    example: tributary source add USER {}",
            info.example_input
        )?;
        if let Some(schedule) = info.default_schedule {
            writeln!(out, "    default schedule: {schedule}")?;
        }
        if info.can_backfill {
            writeln!(
                out,
                "    can walk history back to older items (`tributary import history ID`)"
            )?;
        }
        writeln!(out)?;
    }
    for problem in &built.problems {
        eprintln!("warning: {problem}; the other recipes are loaded");
    }
    if let Some(problem) = config.federation_problem() {
        eprintln!("warning: {problem}");
    }
    Ok(())
}
