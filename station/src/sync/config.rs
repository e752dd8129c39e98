//! Order-center settings (`[order_center]` in the station configuration) and the factory that
//! turns them, plus the secret store, into an [`Adapter`].

use super::deliver::DeliverConfig;
use super::http::UreqTransport;
use super::jst::{JstAdapter, JstConfig};
use super::mapping::{self, Rule};
use super::rest::RestAdapter;
use super::secrets::{Backend, SecretStore};
use super::wdt::{WdtAdapter, WdtConfig};
use super::{Adapter, DeliveryError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Secret name of the reference contract's bearer token.
pub const SECRET_REST_TOKEN: &str = "order_center.token";
/// Secret name of 聚水潭's app secret.
pub const SECRET_JST_APP_SECRET: &str = "jushuitan.app_secret";
/// Secret name of 聚水潭's access token.
pub const SECRET_JST_ACCESS_TOKEN: &str = "jushuitan.access_token";
/// Secret name of 旺店通's `secret:salt`.
pub const SECRET_WDT_APPSECRET: &str = "wdt.appsecret";

/// Which order center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdapterKind {
    /// Standalone: nothing is uploaded; results stay queued.
    #[default]
    None,
    /// The reference REST contract (`docs/order-center.openapi.yaml`).
    Rest,
    /// 聚水潭 weigh upload.
    Jushuitan,
    /// 旺店通 旗舰版 weighing.
    Wdt,
}

/// Order-center settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderCenterConfig {
    /// Which order center.
    pub kind: AdapterKind,
    /// Base URL of the reference contract (`rest`).
    pub url: String,
    /// Results per request.
    pub batch: usize,
    /// Whole-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// First backoff ceiling in milliseconds.
    pub backoff_base_ms: u64,
    /// Largest backoff ceiling in milliseconds.
    pub backoff_cap_ms: u64,
    /// Order-feed poll interval in milliseconds (≤ 10 000 so interceptions land in time).
    pub order_poll_ms: u64,
    /// Where secrets live.
    pub secrets: Backend,
    /// 聚水潭 settings.
    pub jushuitan: JstConfig,
    /// 旺店通 settings.
    pub wdt: WdtConfig,
    /// Field mapping applied to every uploaded result.
    pub mapping: Vec<Rule>,
}

impl Default for OrderCenterConfig {
    fn default() -> Self {
        OrderCenterConfig {
            kind: AdapterKind::None,
            url: String::new(),
            batch: super::rest::DEFAULT_BATCH,
            timeout_ms: 10_000,
            backoff_base_ms: 500,
            backoff_cap_ms: 120_000,
            order_poll_ms: super::orders::POLL_INTERVAL_MS,
            secrets: Backend::Auto,
            jushuitan: JstConfig::default(),
            wdt: WdtConfig::default(),
            mapping: Vec::new(),
        }
    }
}

impl OrderCenterConfig {
    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch == 0 {
            return Err("order_center.batch must be at least 1".into());
        }
        if self.order_poll_ms == 0 || self.order_poll_ms > 10_000 {
            return Err(format!(
                "order_center.order_poll_ms must be 1..=10000 (interceptions must land within 10 s), is {}",
                self.order_poll_ms
            ));
        }
        if self.backoff_base_ms == 0 || self.backoff_cap_ms < self.backoff_base_ms {
            return Err("order_center.backoff_base_ms must be ≥ 1 and ≤ backoff_cap_ms".into());
        }
        if self.kind == AdapterKind::Rest && self.url.is_empty() {
            return Err("order_center.url is required for kind = \"rest\"".into());
        }
        mapping::validate(&self.mapping).map_err(|e| format!("order_center.{e}"))
    }

    /// Delivery settings derived from this configuration.
    pub fn deliver_config(&self) -> DeliverConfig {
        DeliverConfig {
            batch: self.batch,
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_cap: Duration::from_millis(self.backoff_cap_ms),
            mapping: self.mapping.clone(),
        }
    }

    /// Builds the adapter, reading its secrets from `secrets`. `None` for `kind = none`.
    pub fn build_adapter(
        &self,
        secrets: &dyn SecretStore,
    ) -> Result<Option<Box<dyn Adapter>>, DeliveryError> {
        let need = |name: &str| -> Result<super::secrets::Secret, DeliveryError> {
            secrets
                .get(name)
                .map_err(|e| DeliveryError::Config(e.to_string()))?
                .ok_or_else(|| {
                    DeliveryError::Config(format!(
                        "secret {name} is not set ({} store); set it with `packbench sync secret set {name}`",
                        secrets.backend()
                    ))
                })
        };
        let transport = Box::new(UreqTransport::new(Duration::from_millis(self.timeout_ms)));
        Ok(Some(match self.kind {
            AdapterKind::None => return Ok(None),
            AdapterKind::Rest => {
                let token = secrets
                    .get(SECRET_REST_TOKEN)
                    .map_err(|e| DeliveryError::Config(e.to_string()))?;
                Box::new(RestAdapter::new(&self.url, token, self.batch, transport)?)
            }
            AdapterKind::Jushuitan => Box::new(JstAdapter::new(
                self.jushuitan.clone(),
                need(SECRET_JST_APP_SECRET)?,
                need(SECRET_JST_ACCESS_TOKEN)?,
                transport,
            )?),
            AdapterKind::Wdt => Box::new(WdtAdapter::new(
                self.wdt.clone(),
                need(SECRET_WDT_APPSECRET)?,
                transport,
            )?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        OrderCenterConfig::default().validate().unwrap();
        let bad = OrderCenterConfig {
            order_poll_ms: 60_000,
            ..OrderCenterConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("order_poll_ms"));
        let bad = OrderCenterConfig {
            kind: AdapterKind::Rest,
            ..OrderCenterConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("order_center.url"));
    }

    #[test]
    fn reads_from_toml_with_mapping() {
        let c: OrderCenterConfig = toml::from_str(
            r#"
            kind = "jushuitan"
            batch = 20
            [jushuitan]
            app_key = "ak"
            weigh_type = 1
            [[mapping]]
            rename = { from = "waybill_no", to = "l_id" }
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.kind, AdapterKind::Jushuitan);
        assert_eq!(c.jushuitan.app_key, "ak");
        assert_eq!(c.mapping.len(), 1);
    }

    #[test]
    fn missing_secret_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let st = super::super::secrets::FileStore::open(dir.path()).unwrap();
        let c = OrderCenterConfig {
            kind: AdapterKind::Wdt,
            wdt: WdtConfig {
                sid: "s".into(),
                app_key: "k".into(),
                ..WdtConfig::default()
            },
            ..OrderCenterConfig::default()
        };
        let e = c.build_adapter(&st).err().unwrap().to_string();
        assert!(e.contains(SECRET_WDT_APPSECRET), "{e}");
    }
}
