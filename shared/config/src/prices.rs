//! `PRICES`: the price per recipient of every template in payment mode `dsr`.

use std::collections::BTreeMap;

use novij_events::money::Amount;

use crate::Reader;

pub(crate) fn parse(raw: &str, r: &mut Reader<'_>) -> BTreeMap<String, Amount> {
    let mut prices = BTreeMap::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((template, amount)) = entry.split_once('=').map(|(t, a)| (t.trim(), a.trim())) else {
            r.problem("PRICES", format!("`{entry}` is not `template=amount`"));
            continue;
        };
        if novij_templates::find(template).is_none() {
            r.problem("PRICES", format!("unknown template `{template}`"));
            continue;
        }
        match amount.parse::<Amount>() {
            Ok(a) => {
                prices.insert(template.to_string(), a);
            }
            Err(e) => r.problem("PRICES", format!("the price of {template} {e}")),
        }
    }
    for name in novij_templates::names() {
        if !prices.contains_key(name) {
            r.problem("PRICES", format!("no price for {name}"));
        }
    }
    prices
}
