//! `HOSTTARGET`: a channel started or stopped hosting another (retired by Twitch in 2022).
//!
//! `:tmi.twitch.tv HOSTTARGET #hoster :<target|-> <viewers|->`. Kept only so old logs and
//! fixtures parse; twitch-irc-rs dropped it (#183). The normalizer publishes it raw.

use crate::irc::IrcMessage;

/// A host-mode change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HostTarget<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The hosting channel's login, when the line names one.
    pub channel: Option<&'a str>,
    /// The hosted channel, or `None` when hosting stopped (`-`).
    pub target: Option<&'a str>,
    /// The viewer count, when given.
    pub viewers: Option<u64>,
}

impl<'a> From<IrcMessage<'a>> for HostTarget<'a> {
    fn from(source: IrcMessage<'a>) -> Self {
        let mut words = source.text().map(|(text, _)| text).unwrap_or("").split(' ');
        let target = words.next().filter(|t| !t.is_empty() && *t != "-");
        let viewers = words.next().and_then(|v| v.parse().ok());
        HostTarget {
            source,
            channel: source.channel_login(),
            target,
            viewers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> HostTarget<'_> {
        HostTarget::from(IrcMessage::parse(line).unwrap())
    }

    #[test]
    fn start_and_stop() {
        // dank-twitch-irc hosttarget.spec.ts
        let h = parse(":tmi.twitch.tv HOSTTARGET #randers :leebaxd 0");
        assert_eq!(
            (h.channel, h.target, h.viewers),
            (Some("randers"), Some("leebaxd"), Some(0))
        );
        let h = parse(":tmi.twitch.tv HOSTTARGET #randers :- 0");
        assert_eq!(h.target, None);
        let h = parse(":tmi.twitch.tv HOSTTARGET #randers :leebaxd -");
        assert_eq!(h.viewers, None);
    }
}
