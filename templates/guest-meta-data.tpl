{% if guestgate.header %}#cloud-config
{% endif %}instance-id: {{ guestgate.instance_id }}
local-hostname: {{ instance.name }}
{{ guestgate.user_meta_data }}