#![doc = include_str!("../README.md")]

pub mod capture;
pub mod codec;

pub use codec::{Frame, FrameError, OpenInfo, SocketPacket};
