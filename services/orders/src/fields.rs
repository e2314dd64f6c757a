//! A tracker issue's fields, from what the marketplace says of a project or an item (the OMS
//! API's project and project item), by the configured custom field ids. A field whose id is not
//! configured is left out; select fields take `{"id": option}`, the project `{"key": ...}` (the
//! seed sent bare strings for both, which the tracker refuses).

use crate::tracker::text;
use serde_json::{Map, Value, json};

use crate::config::OrdersConfig;

/// The fields of a project's epic.
pub fn epic_fields(config: &OrdersConfig, project: &Value, label: &str) -> Value {
    let attributes = &project["attributes"];
    let owner = &project["owner"];
    let owner_name = text(&owner["name"]);
    let (first, last) = owner_name.split_once(' ').unwrap_or((owner_name.as_str(), ""));
    let typology = text(&attributes["customer_typology"]);
    let mut fields = base(config, &config.tracker.epic_issue_type_id, format!("Project {owner_name}"), label);
    let mut set = |name: &str, value: Value| set_field(config, &mut fields, name, value);
    set("Epic Name", json!(text(&attributes["name"])));
    set("CI-Name", json!(first));
    set("CI-Surname", json!(last));
    set("CI-Email", json!(text(&owner["email"])));
    set("CI-DisplayName", json!(owner_name));
    set("CI-EOSC-UniqueID", json!(text(&owner["uid"])));
    // The institution's fields only for a single user or a research typology (the seed's rule).
    if typology == "single_user" || typology == "research" {
        set("CI-Institution", json!(text(&attributes["organization"])));
        set("CI-Department", json!(text(&attributes["department"])));
        set("CI-DepartmentalWebPage", json!(text(&attributes["department_webpage"])));
    }
    set("CP-ScientificDiscipline", json!(joined(&attributes["scientific_domains"])));
    if let Some(option) = config.select("customer_typology", &typology) {
        set("CP-CustomerTypology", json!({ "id": option }));
    }
    set("CP-CustomerCountry", json!(or_na(text(&attributes["country"]))));
    set("CP-CollaborationCountry", json!(joined(&attributes["collaboration_countries"])));
    set("CP-UserGroupName", json!(text(&attributes["user_group_name"])));
    set("SO-ProjectName", json!(format!("{} ({})", text(&attributes["name"]), text(&project["id"]))));
    json!({ "fields": fields })
}

/// The fields of an item's issue, linked to the epic `epic_key`.
pub fn item_fields(config: &OrdersConfig, project: &Value, item: &Value, epic_key: &str, label: &str) -> Value {
    let attributes = &item["attributes"];
    let service = text(&attributes["service"]);
    let summary = format!("Service order, {} {service}", text(&project["owner"]["name"]));
    let mut fields = base(config, &config.tracker.issue_type_id, summary, label);
    let mut set = |name: &str, value: Value| set_field(config, &mut fields, name, value);
    set("Epic Link", json!(epic_key));
    set(
        "Order reference",
        json!(format!(
            "{}/projects/{}/services/{}",
            config.tracker.marketplace_url.trim_end_matches('/'),
            text(&project["id"]),
            text(&item["id"])
        )),
    );
    set("CP-Platforms", json!(joined(&attributes["platforms"])));
    let voucher = if attributes["request_voucher"].as_bool().unwrap_or(false) { "yes" } else { "no" };
    if let Some(option) = config.select("voucher", voucher) {
        set("CP-INeedAVoucher", json!({ "id": option }));
    }
    set("CP-VoucherID", json!(text(&attributes["voucher_id"])));
    let properties: Map<String, Value> = attributes["offer_properties"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|property| (text(&property["label"]), property["value"].clone()))
        .collect();
    set(
        "SO-1",
        json!(
            json!({
                "category": text(&attributes["category"]),
                "service": service,
                "offer": text(&attributes["offer"]),
                "attributes": properties,
            })
            .to_string()
        ),
    );
    set("SO-ServiceOrderTarget", json!(text(&item["oms_params"]["order_target"])));
    if let Some(option) = config.select("offer_type", &text(&attributes["order_type"])) {
        set("SO-OfferType", json!({ "id": option }));
    }
    json!({ "fields": fields })
}

fn base(config: &OrdersConfig, issue_type_id: &str, summary: String, label: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("project".into(), json!({ "key": config.tracker.project_key }));
    fields.insert("issuetype".into(), json!({ "id": issue_type_id }));
    fields.insert("summary".into(), json!(summary));
    fields.insert("labels".into(), json!([label]));
    fields
}

fn set_field(config: &OrdersConfig, fields: &mut Map<String, Value>, name: &str, value: Value) {
    if let Some(id) = config.field(name) {
        fields.insert(id.to_string(), value);
    }
}

/// A list joined with ", ", or "N/A" when empty (the seed's).
fn joined(value: &Value) -> String {
    let parts: Vec<String> = value.as_array().into_iter().flatten().map(text).filter(|t| !t.is_empty()).collect();
    or_na(parts.join(", "))
}

fn or_na(text: String) -> String {
    if text.is_empty() { "N/A".into() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_issue_links_its_epic_and_skips_unconfigured_fields() {
        let mut config = OrdersConfig::builtin().clone();
        config.fields.insert("CP-Platforms".into(), String::new());
        let project = json!({"id": 12, "owner": {"name": "Ada Lovelace"}, "attributes": {"name": "Engines"}});
        let item = json!({"id": 3, "attributes": {"service": "Cloud", "request_voucher": true, "order_type": "orderable",
            "offer_properties": [{"label": "CPUs", "value": 4}]}, "oms_params": {"order_target": "ops@x"}});
        let fields = &item_fields(&config, &project, &item, "EOSC-1", "clio-order-12-item-3")["fields"];
        assert_eq!(fields["summary"], "Service order, Ada Lovelace Cloud");
        assert_eq!(fields["customfield_10003"], "EOSC-1");
        assert_eq!(fields["customfield_10019"], json!({"id": "20010"}));
        assert_eq!(fields["customfield_10024"], json!({"id": "20021"}));
        assert_eq!(fields["project"], json!({"key": "EOSC"}));
        assert!(fields.get("customfield_10018").is_none(), "an unconfigured field is left out");
        assert!(fields.get("").is_none());
        let epic = &epic_fields(&config, &project, "clio-order-12")["fields"];
        assert_eq!(epic["customfield_10021"], "Engines (12)");
        assert_eq!(epic["customfield_10013"], "N/A");
    }
}
