//! Mapping each platform's ranks and badges to [`Role`]s, and bot owners.
//!
//! Every platform crate calls these functions instead of writing its own mapping, so a
//! command that needs [`Role::Moderator`] means the same thing on Twitch and on CyTube.
//! Owners are not a platform concept: they are configured as platform-qualified
//! identities (`twitch:alice`) and added on top by [`effective_roles`].

use crate::event::{Role, Roles, User};

/// Roles from a Twitch IRCv3 `badges` tag, e.g. `broadcaster/1,moderator/1,subscriber/12`.
///
/// `broadcaster` → [`Role::Broadcaster`], `moderator` and `lead_moderator` →
/// [`Role::Moderator`], `vip` → [`Role::Vip`], `subscriber` and `founder` (a founder is
/// an early subscriber and shows that badge instead) → [`Role::Subscriber`]. Other badges
/// (`staff`, `partner`, `bits`, …) grant nothing in the channel. Malformed entries are
/// skipped.
pub fn roles_from_twitch_badges(badges: &str) -> Roles {
    badges
        .split(',')
        .filter_map(|badge| {
            let name = badge.split('/').next().unwrap_or("").trim();
            match name {
                "broadcaster" => Some(Role::Broadcaster),
                "moderator" | "lead_moderator" => Some(Role::Moderator),
                "vip" => Some(Role::Vip),
                "subscriber" | "founder" => Some(Role::Subscriber),
                _ => None,
            }
        })
        .fold(Roles::everyone(), Roles::with)
}

/// Roles from a CyTube channel rank.
///
/// CyTube ranks: 0 guest, 1 registered, 1.5 leader (holds the playlist), 2 moderator,
/// 3 channel admin, 4 channel owner, 5 founder, 10+ site admin. Fractional ranks count
/// by their floor, so a leader is treated as registered. The mapping: ≥ 1 →
/// [`Role::Subscriber`] (a registered account is the closest thing to a subscriber),
/// ≥ 2 → [`Role::Moderator`], ≥ 3 → [`Role::Broadcaster`] (admins and owners run the
/// channel). Ranks are cumulative, so a moderator also holds subscriber. A negative,
/// NaN or otherwise missing rank is a guest.
pub fn roles_from_cytube_rank(rank: f64) -> Roles {
    let rank = if rank.is_finite() { rank.floor() } else { 0.0 };
    let mut roles = Roles::everyone();
    if rank >= 1.0 {
        roles = roles.with(Role::Subscriber);
    }
    if rank >= 2.0 {
        roles = roles.with(Role::Moderator);
    }
    if rank >= 3.0 {
        roles = roles.with(Role::Broadcaster);
    }
    roles
}

/// Whether `user` is one of the bot's `owners`.
///
/// Owners are platform-qualified (`twitch:alice`, `cytube:bob`) and match either the
/// user's id (`twitch:141981764`) or `<platform>:<name>`, ignoring case and surrounding
/// spaces. An owner entry without a platform matches nobody, so `alice` on one platform
/// can never become owner by a name taken on another.
pub fn is_owner(user: &User, owners: &[String]) -> bool {
    let platform = user.id.split_once(':').map(|(p, _)| p);
    owners.iter().any(|owner| {
        let owner = owner.trim();
        let Some((owner_platform, owner_name)) = owner.split_once(':') else {
            return false;
        };
        owner.eq_ignore_ascii_case(&user.id)
            || (platform.is_some_and(|p| p.eq_ignore_ascii_case(owner_platform))
                && owner_name.to_lowercase() == user.name.to_lowercase())
    })
}

/// The user's roles plus [`Role::Owner`] when [`is_owner`] says so.
pub fn effective_roles(user: &User, owners: &[String]) -> Roles {
    if is_owner(user, owners) {
        user.roles.with(Role::Owner)
    } else {
        user.roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twitch_badges() {
        let r = roles_from_twitch_badges("broadcaster/1,moderator/1,subscriber/12");
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            [
                Role::Everyone,
                Role::Subscriber,
                Role::Moderator,
                Role::Broadcaster
            ]
        );
        assert_eq!(roles_from_twitch_badges("vip/1").highest(), Role::Vip);
        assert_eq!(
            roles_from_twitch_badges("founder/0,bits/100").highest(),
            Role::Subscriber
        );
        assert_eq!(
            roles_from_twitch_badges("lead_moderator/1").highest(),
            Role::Moderator
        );
        assert_eq!(
            roles_from_twitch_badges("staff/1,partner/1"),
            Roles::everyone()
        );
        assert_eq!(roles_from_twitch_badges(""), Roles::everyone());
        assert_eq!(
            roles_from_twitch_badges(",,/,moderator"),
            Roles::of(&[Role::Moderator])
        );
    }

    #[test]
    fn cytube_ranks() {
        let cases = [
            (-1.0, Role::Everyone),
            (0.0, Role::Everyone),
            (1.0, Role::Subscriber),
            (1.5, Role::Subscriber),
            (2.0, Role::Moderator),
            (2.5, Role::Moderator),
            (3.0, Role::Broadcaster),
            (4.0, Role::Broadcaster),
            (5.0, Role::Broadcaster),
            (255.0, Role::Broadcaster),
            (f64::NAN, Role::Everyone),
            (f64::INFINITY, Role::Everyone),
        ];
        for (rank, role) in cases {
            assert_eq!(roles_from_cytube_rank(rank).highest(), role, "{rank}");
        }
        let m = roles_from_cytube_rank(2.0);
        assert!(m.has(Role::Subscriber) && !m.has(Role::Vip));
        assert!(!roles_from_cytube_rank(5.0).has(Role::Owner));
    }

    #[test]
    fn owners() {
        let owners = vec![
            "twitch:Alice".to_owned(),
            " cytube:bob ".to_owned(),
            "carol".to_owned(),
        ];
        let alice = User::new("twitch", "alice", Roles::everyone());
        assert!(is_owner(&alice, &owners));
        assert_eq!(effective_roles(&alice, &owners).highest(), Role::Owner);
        // Same name, other platform: not an owner.
        let alice_cytube = User::new("cytube", "alice", Roles::everyone());
        assert!(!is_owner(&alice_cytube, &owners));
        assert!(is_owner(
            &User::new("cytube", "BOB", Roles::everyone()),
            &owners
        ));
        // A bare name matches nobody.
        assert!(!is_owner(
            &User::new("twitch", "carol", Roles::everyone()),
            &owners
        ));
        // Matching by numeric id.
        let mut dave = User::new("twitch", "dave", Roles::of(&[Role::Moderator]));
        dave.id = "twitch:12345".into();
        assert!(!is_owner(&dave, &owners));
        assert!(is_owner(&dave, &["twitch:12345".to_owned()]));
        assert_eq!(effective_roles(&dave, &owners).highest(), Role::Moderator);
    }
}
