//! What is removed from chat before it is learned: links, @mentions, the bot's own name,
//! and commands. Each rule is a config switch, because some channels want links repeated.

use super::MarkovConfig;

/// The words of `text` worth learning, joined by single spaces; `None` when nothing is left
/// (or the text is a command).
pub fn clean(text: &str, config: &MarkovConfig, bot_name: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if config
        .ignore_prefixes
        .iter()
        .any(|p| !p.is_empty() && trimmed.starts_with(p.as_str()))
    {
        return None;
    }
    let bot = bot_name.trim().to_lowercase();
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !(config.strip_links && is_link(w)))
        .filter(|w| !(config.strip_mentions && w.starts_with('@') && w.len() > 1))
        .filter(|w| !(config.strip_bot_name && !bot.is_empty() && names(w, &bot)))
        .collect();
    (words.len() >= config.min_words.max(1)).then(|| words.join(" "))
}

fn is_link(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    lower.contains("://") || lower.starts_with("www.")
}

/// Whether `word` is the bot's name, ignoring case, a leading `@` and trailing punctuation.
fn names(word: &str, bot: &str) -> bool {
    let bare = word
        .trim_start_matches('@')
        .trim_end_matches(|c: char| c.is_ascii_punctuation());
    bare.to_lowercase() == bot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_links_mentions_and_the_bot() {
        let config = MarkovConfig::default();
        assert_eq!(
            clean(
                "hey @alice see https://x.io and www.y.com, RoseyBot: nice",
                &config,
                "roseybot"
            )
            .as_deref(),
            Some("hey see and nice")
        );
        assert_eq!(clean("!markov hi", &config, "bot"), None);
        assert_eq!(clean("@bob https://x.io", &config, "bot"), None);
    }

    #[test]
    fn switches_turn_rules_off() {
        let config = MarkovConfig {
            strip_links: false,
            strip_mentions: false,
            strip_bot_name: false,
            ignore_prefixes: Vec::new(),
            ..MarkovConfig::default()
        };
        assert_eq!(
            clean("!x @bob http://a bot", &config, "bot").as_deref(),
            Some("!x @bob http://a bot")
        );
    }
}
