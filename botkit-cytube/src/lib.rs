#![doc = include_str!("../README.md")]

pub mod capture;
pub mod codec;
pub mod events;
pub mod html;
pub mod normalize;
pub mod state;

pub use codec::{Frame, FrameError, OpenInfo, SocketPacket};
pub use events::{EventError, ServerEvent};
pub use normalize::{Normalized, Normalizer};
pub use state::ChannelState;
