//! Geographic points and great-circle distance for geofences.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS-84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeoPoint {
    /// Latitude, -90 to 90 (north positive).
    pub lat: f64,
    /// Longitude, -180 to 180 (east positive).
    pub lon: f64,
}

impl GeoPoint {
    /// Great-circle distance in metres (haversine formula).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// Whether both coordinates are finite and in range.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_to_paris_is_about_344_km() {
        let london = GeoPoint {
            lat: 51.5074,
            lon: -0.1278,
        };
        let paris = GeoPoint {
            lat: 48.8566,
            lon: 2.3522,
        };
        let d = london.distance_m(&paris);
        assert!((d - 343_500.0).abs() < 1_500.0, "{d}");
        assert!(london.distance_m(&london) < 1e-6);
    }
}
