//! What a camera event is of: an object class the object detector reports,
//! or a face (CenterFace). The labels events and the API use.

use super::ObjectClass;

/// An event's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventLabel {
    /// A person or road vehicle (NanoDet).
    Object(ObjectClass),
    /// A face (CenterFace).
    Face,
}

impl EventLabel {
    /// Every label, objects in COCO order, then faces.
    pub const ALL: [EventLabel; 7] = [
        EventLabel::Object(ObjectClass::Person),
        EventLabel::Object(ObjectClass::Bicycle),
        EventLabel::Object(ObjectClass::Car),
        EventLabel::Object(ObjectClass::Motorcycle),
        EventLabel::Object(ObjectClass::Bus),
        EventLabel::Object(ObjectClass::Truck),
        EventLabel::Face,
    ];

    /// Its name (`person`, `car`, `face`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventLabel::Object(c) => c.as_str(),
            EventLabel::Face => "face",
        }
    }

    /// The label named `name`.
    pub fn parse(name: &str) -> Option<EventLabel> {
        EventLabel::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_class_is_a_label_and_names_round_trip() {
        for c in ObjectClass::ALL {
            assert!(EventLabel::ALL.contains(&EventLabel::Object(c)));
        }
        for l in EventLabel::ALL {
            assert_eq!(EventLabel::parse(l.as_str()), Some(l));
        }
        assert_eq!(EventLabel::parse("dog"), None);
    }
}
