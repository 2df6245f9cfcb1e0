//! Chromium walk of the demo with the phone step (below).
