//! Builds the connector registry from the config: the built-in connectors and recipes, the
//! GitHub token, and the operator's recipe folder (`connectors.recipes_dir`). Reading the
//! folder is the only IO here; parsing is the connectors crate's.

use std::path::{Path, PathBuf};

use connectors::Registry;
use connectors::recipe::{MAX_RECIPE_BYTES, Recipe, RecipeError};
use connectors::site::SiteSettings;

use crate::config::ConnectorsConfig;

/// Recipe files read from the folder at most.
pub const MAX_RECIPE_FILES: usize = 500;

#[derive(Debug, thiserror::Error)]
#[error("connectors.recipes_dir: cannot read {path}: {message}")]
pub struct RecipesDirError {
    pub path: PathBuf,
    pub message: String,
}

/// The registry, where each operator recipe came from, and the recipes that were refused.
pub struct Built {
    pub registry: Registry,
    /// `(kind, file path)` of every operator recipe that loaded.
    pub operator_recipes: Vec<(String, PathBuf)>,
    pub problems: Vec<RecipeError>,
}

/// The registry for this config. A missing or unreadable folder is an error; a malformed
/// recipe is a problem reported with its file and key while the others load.
pub fn build(config: &ConnectorsConfig) -> Result<Built, RecipesDirError> {
    let settings = SiteSettings {
        github_token: Some(config.github_token.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    let (mut recipes, mut problems) = if config.recipes_dir.trim().is_empty() {
        (Vec::new(), Vec::new())
    } else {
        read_recipes(Path::new(config.recipes_dir.trim()))?
    };
    // An operator recipe may replace a built-in recipe, never a connector written in code
    // (`feed`, `github`…): sources of that kind would silently change meaning.
    let builtin = Registry::default();
    let embedded: Vec<&str> = connectors::recipe::embedded()
        .iter()
        .map(|recipe| recipe.name)
        .collect();
    recipes.retain(|(recipe, path)| {
        let taken = builtin.get(recipe.name).is_some() && !embedded.contains(&recipe.name);
        if taken {
            problems.push(RecipeError {
                file: path.display().to_string(),
                key: "name".into(),
                message: format!(
                    "`{}` is a built-in connector's name; choose another",
                    recipe.name
                ),
            });
        }
        !taken
    });
    // Two operator files with the same name: the first (in file-name order) wins.
    let mut seen = std::collections::BTreeSet::new();
    recipes.retain(|(recipe, path)| {
        let first = seen.insert(recipe.name);
        if !first {
            problems.push(RecipeError {
                file: path.display().to_string(),
                key: "name".into(),
                message: format!("another file already defines `{}`", recipe.name),
            });
        }
        first
    });
    let operator_recipes = recipes
        .iter()
        .map(|(recipe, path)| (recipe.name.to_owned(), path.clone()))
        .collect();
    let registry = Registry::with_settings(
        &settings,
        recipes.into_iter().map(|(recipe, _)| recipe).collect(),
    );
    Ok(Built {
        registry,
        operator_recipes,
        problems,
    })
}

/// The recipes of a folder that parsed (with their files), and the problems.
pub type ReadRecipes = (Vec<(Recipe, PathBuf)>, Vec<RecipeError>);

/// Every `*.toml` of `dir`, in name order: the recipes that parse, and the problems.
pub fn read_recipes(dir: &Path) -> Result<ReadRecipes, RecipesDirError> {
    let dir_error = |err: std::io::Error| RecipesDirError {
        path: dir.to_owned(),
        message: err.to_string(),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(dir_error)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    paths.sort();
    let mut recipes = Vec::new();
    let mut problems = Vec::new();
    for path in paths.into_iter().take(MAX_RECIPE_FILES) {
        let shown = path.display().to_string();
        let problem = |message: String| RecipeError {
            file: shown.clone(),
            key: "(file)".into(),
            message,
        };
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() > MAX_RECIPE_BYTES as u64 => {
                problems.push(problem(format!("larger than {MAX_RECIPE_BYTES} bytes")));
                continue;
            }
            Err(err) => {
                problems.push(problem(err.to_string()));
                continue;
            }
            Ok(_) => {}
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                problems.push(problem(err.to_string()));
                continue;
            }
        };
        match Recipe::parse(&shown, &text) {
            Ok(recipe) => recipes.push((recipe, path)),
            Err(err) => problems.push(err),
        }
    }
    Ok((recipes, problems))
}

/// Builds the registry and logs each refused recipe.
pub fn build_logged(config: &ConnectorsConfig) -> Result<Built, RecipesDirError> {
    let built = build(config)?;
    for problem in &built.problems {
        tracing::warn!(file = %problem.file, key = %problem.key, "recipe not loaded: {}", problem.message);
    }
    for (kind, path) in &built.operator_recipes {
        tracing::info!(kind = %kind, file = %path.display(), "recipe loaded");
    }
    Ok(built)
}
