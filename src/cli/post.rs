//! `tributary post USER`: posts a message, a link or photos into a user's stream through
//! the posts service, with the same rules as the compose box.

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Config;
use crate::posts::{Draft, PhotoUpload, PostError};

#[derive(Debug, Args)]
pub struct PostArgs {
    /// The user who posts.
    pub user: String,
    /// The message (plain text; links become clickable).
    #[arg(long, default_value = "")]
    pub text: String,
    /// A web address; its preview (title, description, image) is fetched.
    #[arg(long, value_name = "URL", default_value = "")]
    pub link: String,
    /// A photo file (JPEG, PNG, GIF or WebP); give it up to four times.
    #[arg(long, value_name = "FILE")]
    pub photo: Vec<std::path::PathBuf>,
    /// The description (alt text) of each photo, in the same order.
    #[arg(long, value_name = "TEXT")]
    pub alt: Vec<String>,
    /// Post photos without descriptions.
    #[arg(long)]
    pub without_alt: bool,
}

pub async fn run(config: Config, args: PostArgs) -> anyhow::Result<()> {
    let services = crate::app::services(&config)?;
    let author = services
        .users
        .by_name(&args.user)
        .await
        .map_err(|_| anyhow::anyhow!("no user named {}", args.user))?;
    if args.alt.len() > args.photo.len() {
        bail!(
            "{} --alt given for {} --photo",
            args.alt.len(),
            args.photo.len()
        );
    }
    let mut photos = Vec::with_capacity(args.photo.len());
    for (at, path) in args.photo.iter().enumerate() {
        let limit = crate::posts::photos::MAX_PHOTO_BYTES as u64;
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > limit {
            bail!(
                "{} is larger than the {limit}-byte limit for one photo",
                path.display()
            );
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        photos.push(PhotoUpload {
            name: path.display().to_string(),
            bytes,
            alt: args.alt.get(at).cloned().unwrap_or_default(),
        });
    }
    let draft = Draft {
        text: args.text,
        link: args.link,
        photos,
        without_alt: args.without_alt,
    };
    match services.posts.create(&author, draft).await {
        Ok(id) => {
            println!("posted item {id}: {}/e/{id}", config.base_url());
            Ok(())
        }
        Err(PostError::Input(message)) => bail!("{message}"),
        Err(err) => Err(err.into()),
    }
}
