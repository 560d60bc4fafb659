#![doc = include_str!("../README.md")]

pub mod actions;
pub mod capture;
pub mod codec;
pub mod config;
pub mod connect_limit;
pub mod discovery;
pub mod error;
pub mod events;
pub mod flood;
pub mod html;
pub mod media_link;
pub mod normalize;
pub mod platform;
mod session;
pub mod state;
pub mod tls;

pub use codec::{Frame, FrameError, OpenInfo, SocketPacket};
pub use config::{CytubeConfig, RoomConfig};
pub use error::CytubeError;
pub use events::{EventError, ServerEvent};
pub use media_link::{MediaLink, parse_media_link};
pub use normalize::{Normalized, Normalizer};
pub use platform::{ConnectionMetrics, CytubePlatform};
pub use state::ChannelState;
