//! Where the API key and base URL come from: the flag, else the environment variable, else the
//! named profile in the config file.
//!
//! The file is `$XDG_CONFIG_HOME/nexotp/config.toml` when that variable is set, else the
//! platform's config dir (`~/.config` on Linux, found from `HOME`), so tests point it at a
//! temporary directory. It holds a key, so it is written with mode 0600 and replaced atomically;
//! the key is never printed, only masked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::{ConfigKey, GlobalOpts};
use crate::error::{CliError, CliResult, local};

/// The config file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One named profile.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The API base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_key", &self.api_key.as_deref().map(mask))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--api-key` / `--base-url`.
    Flag,
    /// `NEXOTP_API_KEY` / `NEXOTP_BASE_URL`.
    Env,
    /// The profile in the config file.
    Profile,
    /// Nowhere (the SDK's default applies).
    Unset,
}

impl Source {
    /// How `config show` names it.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::Profile => "profile",
            Source::Unset => "not set",
        }
    }
}

/// The effective settings of one invocation.
#[derive(Clone)]
pub struct Settings {
    /// The profile's name.
    pub profile: String,
    /// The API key, if any.
    pub api_key: Option<String>,
    /// Where the key came from.
    pub api_key_source: Source,
    /// The base URL, if any (else the SDK's default).
    pub base_url: Option<String>,
    /// Where the base URL came from.
    pub base_url_source: Source,
    /// The config file's path, when one could be determined.
    pub path: Option<PathBuf>,
    /// `--deadline`: time allowed for each call.
    pub deadline: Option<std::time::Duration>,
}

/// The config file's path.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(dirs::config_dir)?;
    Some(base.join("nexotp").join("config.toml"))
}

/// Reads the config file; a missing file is an empty one.
pub fn load(path: &Path) -> CliResult<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| local(&format!("reading the config file {}", path.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(local(
            &format!("reading the config file {}", path.display()),
            e,
        )),
    }
}

/// The temporary file `save` writes before renaming it over the config file.
fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!(".config.toml.{}.tmp", std::process::id()))
}

/// Writes the config file (mode 0600, via a temporary file and a rename).
pub fn save(path: &Path, file: &ConfigFile) -> CliResult {
    let context = format!("writing the config file {}", path.display());
    let text = toml::to_string_pretty(file).map_err(|e| local(&context, e))?;
    let dir = path
        .parent()
        .ok_or_else(|| CliError::Local(format!("{context}: no parent directory")))?;
    std::fs::create_dir_all(dir).map_err(|e| local(&context, e))?;
    let tmp = temp_path(dir);
    // A fresh file only: a stale temp (or a symlink planted in its place) is removed first, and
    // `create_new` refuses to follow anything that appears there in between.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(local(&context, e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut f = options.open(&tmp)?;
        f.write_all(b"# nexotp CLI profiles: `nexotp config set|unset|show`\n")?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        local(&context, e)
    })
}

fn from_env(name: &str, value: &Option<String>) -> Source {
    // clap fills the field from the flag or the variable; equal to the variable means the
    // variable (a flag with the very same value would be indistinguishable and harmless).
    match value {
        None => Source::Unset,
        Some(v) if std::env::var(name).ok().as_deref() == Some(v.as_str()) => Source::Env,
        Some(_) => Source::Flag,
    }
}

/// Resolves the settings: flag, else environment, else profile.
pub fn resolve(global: &GlobalOpts) -> CliResult<Settings> {
    let path = config_path();
    let profile = match &path {
        Some(p) => load(p)?.profiles.remove(&global.profile),
        None => None,
    };
    let profile_known = profile.is_some();
    let profile = profile.unwrap_or_default();
    let api_key_given = global.api_key.clone().filter(|k| !k.trim().is_empty());
    let base_url_given = global.base_url.clone().filter(|u| !u.trim().is_empty());
    let (api_key, api_key_source) = match api_key_given {
        Some(k) => {
            let source = from_env(nexotp::config::ENV_API_KEY, &Some(k.clone()));
            (Some(k), source)
        }
        None => match profile.api_key {
            Some(k) => (Some(k), Source::Profile),
            None => (None, Source::Unset),
        },
    };
    let (base_url, base_url_source) = match base_url_given {
        Some(u) => {
            let source = from_env(nexotp::config::ENV_BASE_URL, &Some(u.clone()));
            (Some(u), source)
        }
        None => match profile.base_url {
            Some(u) => (Some(u), Source::Profile),
            None => (None, Source::Unset),
        },
    };
    if !profile_known && global.profile != "default" {
        return Err(CliError::Usage(format!(
            "profile {:?} is not in the config file{}: create it with `nexotp --profile {} config set api-key -`",
            global.profile,
            path.as_ref()
                .map(|p| format!(" ({})", p.display()))
                .unwrap_or_default(),
            global.profile
        )));
    }
    Ok(Settings {
        profile: global.profile.clone(),
        api_key,
        api_key_source,
        base_url,
        base_url_source,
        path,
        deadline: global.deadline,
    })
}

/// Builds a client from the settings.
pub fn client(settings: &Settings) -> CliResult<nexotp::Client> {
    let Some(key) = &settings.api_key else {
        return Err(CliError::Usage(
            "no API key: pass --api-key, set NEXOTP_API_KEY, or save one with `nexotp config set api-key -` (try `nexotp demo`: it needs none)".into(),
        ));
    };
    let mut builder = nexotp::Client::builder()
        .api_key(key.clone())
        .sdk_language("cli", "rust");
    if let Some(url) = &settings.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(deadline) = settings.deadline {
        builder = builder.deadline(deadline);
    }
    Ok(builder.build()?)
}

/// A key as `config show` prints it: never more than its last four characters.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 16 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("****{tail}")
    } else {
        "****".into()
    }
}

/// `config set` / `config unset`: changes one setting of the profile.
pub fn update(profile: &str, key: ConfigKey, value: Option<String>) -> CliResult<PathBuf> {
    let path = config_path().ok_or_else(|| {
        CliError::Local("no config directory: set XDG_CONFIG_HOME or HOME".into())
    })?;
    let mut file = load(&path)?;
    let entry = file.profiles.entry(profile.to_owned()).or_default();
    match key {
        ConfigKey::ApiKey => entry.api_key = value,
        ConfigKey::BaseUrl => entry.base_url = value,
    }
    save(&path, &file)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_never_shows_a_short_key_and_only_the_tail_of_a_long_one() {
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("sk_live_0123456789abcdef"), "****cdef");
        let p = Profile {
            api_key: Some("sk_live_0123456789abcdef".into()),
            base_url: None,
        };
        assert!(!format!("{p:?}").contains("0123456789"));
    }

    #[cfg(unix)]
    #[test]
    fn saving_does_not_follow_a_symlink_planted_at_the_temp_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").expect("writes");
        let config_dir = dir.path().join("nexotp");
        std::fs::create_dir_all(&config_dir).expect("creates");
        std::os::unix::fs::symlink(&victim, temp_path(&config_dir)).expect("symlink");
        let path = config_dir.join("config.toml");
        let mut file = ConfigFile::default();
        file.profiles.insert(
            "default".into(),
            Profile {
                api_key: None,
                base_url: Some("https://example.com/".into()),
            },
        );
        save(&path, &file).expect("saves");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("reads"),
            "untouched"
        );
        assert!(
            std::fs::read_to_string(&path)
                .expect("reads")
                .contains("https://example.com/")
        );
        assert!(!std::fs::exists(temp_path(&config_dir)).expect("checks"));
    }
}
