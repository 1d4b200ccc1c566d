//! What a token may hand out. A token can only grant what it holds, cannot mint a
//! token that outlives it, and cannot mint one usable from further than it is itself.
//! Rotating or revoking a token counts as handing out its permissions.
use super::{Permission, Principal};
use crate::error::AppError;

/// A token cannot grant (`what` = "grant", "rotate a token holding", …) more than it holds.
pub fn check_grantable(
    caller: &Principal,
    wanted: &[Permission],
    what: &str,
) -> Result<(), AppError> {
    let mut missing: Vec<String> = wanted
        .iter()
        .filter(|p| !caller.has(**p))
        .map(|p| p.name())
        .collect();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{} cannot {what} permissions it lacks: {}",
            caller.described(),
            missing.join(", ")
        )))
    }
}

/// A token cannot mint one that outlives it or reaches further than it does: with an
/// expiry, the new token must expire no later; with CIDR blocks, the new token's
/// blocks must lie inside them.
pub fn check_bounds(
    caller: &Principal,
    expires_at: Option<i64>,
    cidrs: &[ipnet::IpNet],
) -> Result<(), AppError> {
    if let Some(limit) = caller.expires_at {
        if expires_at.is_none_or(|e| e > limit) {
            return Err(AppError::Forbidden(
                "this API token expires, so it can only create tokens that expire no later than it does".into(),
            ));
        }
    }
    if !caller.allowed_cidrs.is_empty() {
        let inside = !cidrs.is_empty()
            && cidrs
                .iter()
                .all(|c| caller.allowed_cidrs.iter().any(|own| own.contains(c)));
        if !inside {
            return Err(AppError::Forbidden(
                "this API token is limited to CIDR blocks, so the tokens it creates must be limited to blocks inside them".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn caller(permissions: &[Permission], expires_at: Option<i64>, cidrs: &[&str]) -> Principal {
        Principal {
            kind: super::super::PrincipalKind::Token { id: "t1".into() },
            name: "caller".into(),
            permissions: permissions.to_vec(),
            expires_at,
            allowed_cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    fn forbidden(r: Result<(), AppError>) -> String {
        match r {
            Err(AppError::Forbidden(m)) => m,
            other => panic!("expected FORBIDDEN, got {other:?}"),
        }
    }

    #[test]
    fn grants_only_what_it_holds() {
        let c = caller(&[AlertRead, OrganizationApiTokenModify], None, &[]);
        assert!(check_grantable(&c, &[AlertRead], "grant").is_ok());
        assert!(check_grantable(&c, &[], "grant").is_ok());
        let m = forbidden(check_grantable(
            &c,
            &[AlertRead, DestinationModify, DestinationModify],
            "grant",
        ));
        assert_eq!(
            m,
            "this API token cannot grant permissions it lacks: DestinationModify"
        );
        let m = forbidden(check_grantable(
            &c,
            &[AlertModify],
            "rotate a token holding",
        ));
        assert!(
            m.starts_with("this API token cannot rotate a token holding"),
            "{m}"
        );
    }

    #[test]
    fn an_expiring_token_mints_only_tokens_that_expire_no_later() {
        let c = caller(&[], Some(1_000), &[]);
        assert!(check_bounds(&c, Some(1_000), &[]).is_ok());
        assert!(check_bounds(&c, Some(999), &[]).is_ok());
        assert!(forbidden(check_bounds(&c, Some(1_001), &[])).contains("expire no later"));
        assert!(forbidden(check_bounds(&c, None, &[])).contains("expire no later"));
        let unbounded = caller(&[], None, &[]);
        assert!(check_bounds(&unbounded, None, &[]).is_ok());
    }

    #[test]
    fn a_cidr_bound_token_mints_only_tokens_inside_its_blocks() {
        let c = caller(&[], None, &["10.0.0.0/8", "2001:db8::/32"]);
        let nets =
            |v: &[&str]| -> Vec<ipnet::IpNet> { v.iter().map(|c| c.parse().unwrap()).collect() };
        assert!(check_bounds(&c, None, &nets(&["10.1.0.0/16", "2001:db8:1::/48"])).is_ok());
        assert!(forbidden(check_bounds(&c, None, &[])).contains("CIDR"));
        assert!(forbidden(check_bounds(&c, None, &nets(&["10.0.0.0/7"]))).contains("CIDR"));
        assert!(forbidden(check_bounds(
            &c,
            None,
            &nets(&["10.1.0.0/16", "192.168.0.0/16"])
        ))
        .contains("CIDR"));
    }
}
