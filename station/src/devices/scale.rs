//! The scale device in the station: owns the scale thread and forwards captures as weight intents.
