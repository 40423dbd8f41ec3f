//! Theme files compiled into controlroom.
