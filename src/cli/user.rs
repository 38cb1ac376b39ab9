//! `tributary user`: add and list accounts through the users service, with the same
//! name, display-name and password rules as the web's forms.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;
use crate::users::{NewAccount, Users, UsersError};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is asked for, or read from standard input.
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Name shown on pages; defaults to the user name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
}

pub async fn run(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let users = Users::new(crate::app::open_store(&config)?);
    match command {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
            display_name,
        } => {
            let display_name = display_name.unwrap_or_default();
            // Names first, so nobody types a password for an account that cannot exist.
            users.check_names(&name, &display_name).map_err(in_words)?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                if !std::io::stdin().is_terminal() {
                    bail!("no terminal to ask for a password; pass it with --password-stdin");
                }
                let first = rpassword::prompt_password(format!("Password for {name}: "))?;
                let again = rpassword::prompt_password("Again: ")?;
                if first != again {
                    bail!("the two passwords differ");
                }
                first
            };
            let account = NewAccount {
                name,
                display_name,
                password,
                password_again: None,
                is_admin: admin,
            };
            let user = users
                .create(&account, |_, _| Ok(()))
                .await
                .map_err(in_words)?;
            println!(
                "created user {} (id {}{})",
                user.name,
                user.id,
                if user.is_admin { ", admin" } else { "" }
            );
        }
        UserCommand::List => {
            let list = users.list().await.map_err(in_words)?;
            if list.is_empty() {
                println!("no users yet; create one with `tributary user add NAME --admin`");
            }
            for user in list {
                println!(
                    "{:>4}  {}{}",
                    user.id,
                    user.name,
                    if user.is_admin { "  (admin)" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// The service's messages, as the web shows them beside its fields, on one line.
fn in_words(err: UsersError) -> anyhow::Error {
    match err {
        UsersError::Fields(errors) => {
            anyhow::anyhow!(errors.into_values().collect::<Vec<_>>().join("; "))
        }
        other => other.into(),
    }
}
