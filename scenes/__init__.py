"""The demo's scene pieces: the room, the overlay, the bot participant, the demo itself."""
