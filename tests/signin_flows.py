"""A flow that adds a member on the demo portal's login-protected form (as `webmem do` learned it; kept as
text here, not as a .yaml file, so pytest does not collect it as a flow test)."""

MEMBER_FLOW = """\
webmem: 1
name: add-member
task: Add a member
inputs:
  name: {}
  email: {}
pages:
  members-new:
    url: /members/new
    signature:
      hash: b15f1a16037e1426
      tokens:
        - button|save member|button|
        - chrome|banner|6-20
        - chrome|contentinfo|2
        - form||form|
        - heading|add member|h1|
        - main||main|
        - textbox|email|input|email
        - textbox|name|input|text
      format: 2
steps:
  - goto: /members/new
  - fill:
      target:
        intent: the 'Name' field
        selectors:
          - role=textbox[name="Name"]
          - label=Name
          - css=#member-name
          - css=input[name="name"]
        fingerprint:
          tag: input
          type: text
          role: textbox
          name: Name
          label: Name
          attrs: {id: member-name, name: name}
          classes: [form__input]
          context: form /members/new
          order: 0
      page: members-new
      value: '{{ name }}'
  - fill:
      target:
        intent: the 'Email' field
        selectors:
          - role=textbox[name="Email"]
          - label=Email
          - css=#member-email
          - css=input[name="email"]
        fingerprint:
          tag: input
          type: email
          role: textbox
          name: Email
          label: Email
          attrs: {id: member-email, name: email}
          classes: [form__input]
          context: form /members/new
          order: 1
      page: members-new
      value: '{{ email }}'
  - commit: true
    click:
      target:
        intent: the 'Save member' button
        selectors:
          - role=button[name="Save member"]
          - text=Save member
          - role=main >> role=button[name="Save member"]
          - css=main > form > div:nth-of-type(3) > button
        fingerprint:
          tag: button
          type: submit
          role: button
          name: Save member
          text: Save member
          classes: [btn, btn--primary]
          context: form /members/new
          order: 2
      page: members-new
    expect:
      url: /members
      text: Member added
"""
