//! Who did something: a console user or an API token. Stored as one text column
//! (`user:<id>`, `token:<id>`) beside the rows they change; resolved to the `Actor`
//! union of the API (null once the user or token is deleted).

/// The kind of principal behind a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    User,
    Token,
}

/// A reference to the user or token that made a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorRef {
    pub kind: ActorKind,
    pub id: String,
}

impl ActorRef {
    pub fn user(id: impl Into<String>) -> Self {
        ActorRef {
            kind: ActorKind::User,
            id: id.into(),
        }
    }

    pub fn token(id: impl Into<String>) -> Self {
        ActorRef {
            kind: ActorKind::Token,
            id: id.into(),
        }
    }

    /// The stored form: `user:<id>` or `token:<id>`.
    pub fn encode(&self) -> String {
        let kind = match self.kind {
            ActorKind::User => "user",
            ActorKind::Token => "token",
        };
        format!("{kind}:{}", self.id)
    }

    /// The stored form read back; `None` for anything else (such a column names no one).
    pub fn parse(stored: &str) -> Option<Self> {
        let (kind, id) = stored.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "user" => Some(ActorRef::user(id)),
            "token" => Some(ActorRef::token(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        for a in [ActorRef::user("u-1"), ActorRef::token("t:2")] {
            assert_eq!(ActorRef::parse(&a.encode()), Some(a));
        }
        assert_eq!(ActorRef::parse("robot:1"), None);
        assert_eq!(ActorRef::parse("user:"), None);
        assert_eq!(ActorRef::parse("nobody"), None);
    }
}
