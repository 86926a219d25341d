#!/usr/bin/env python3
"""Fill empty Khmer entries of consult/translations/km/LC_MESSAGES/messages.po from the
glossary below (the programme's agreed words), leaving translators' own work untouched.

    .venv/bin/python scripts/khmer_glossary.py && ./scripts/translations
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "consult/translations/km/LC_MESSAGES/messages.po"

GLOSSARY = {
    "Consult": "ពិគ្រោះយោបល់",
    "Log in": "ចូល",
    "Log out": "ចាកចេញ",
    "Language": "ភាសា",
    "Notifications": "ការជូនដំណឹង",
    "Inbox": "ប្រអប់សំណើ",
    "Places": "ទីតាំង",
    "Invite": "អញ្ជើញ",
    "Skip to content": "រំលងទៅខ្លឹមសារ",
    "Welcome": "សូមស្វាគមន៍",
    "Phone number or e-mail": "លេខទូរស័ព្ទ ឬអ៊ីមែល",
    "Password": "ពាក្យសម្ងាត់",
    "Keep me logged in on this phone": "រក្សាការចូលនៅលើទូរស័ព្ទនេះ",
    "Wrong phone number, e-mail or password.": "លេខទូរស័ព្ទ អ៊ីមែល ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ។",
    "Enter your phone number or e-mail.": "សូមបញ្ចូលលេខទូរស័ព្ទ ឬអ៊ីមែលរបស់អ្នក។",
    "Enter your password.": "សូមបញ្ចូលពាក្យសម្ងាត់របស់អ្នក។",
    "No password yet? Ask your CO leader for your invitation link.": "មិនទាន់មានពាក្យសម្ងាត់? សូមសួរមេដឹកនាំសហគមន៍របស់អ្នកសម្រាប់តំណអញ្ជើញ។",
    "Members": "សមាជិក",
    "Member": "សមាជិក",
    "Leader": "មេដឹកនាំ",
    "Secretary": "លេខាធិការ",
    "Treasurer": "ហិរញ្ញិក",
    "Proposals": "សំណើ",
    "Open problems": "បញ្ហាដែលនៅសល់",
    "Meetings": "កិច្ចប្រជុំ",
    "Log a meeting": "កត់ត្រាកិច្ចប្រជុំ",
    "Record a problem": "កត់ត្រាបញ្ហា",
    "Draft a proposal": "រៀបចំសំណើ",
    "All meetings": "កិច្ចប្រជុំទាំងអស់",
    "All problems": "បញ្ហាទាំងអស់",
    "Voting rules": "វិធានបោះឆ្នោត",
    "Coming up": "នឹងមកដល់",
    "Last meetings": "កិច្ចប្រជុំចុងក្រោយ",
    "No proposal yet.": "មិនទាន់មានសំណើនៅឡើយទេ។",
    "Save": "រក្សាទុក",
    "Name": "ឈ្មោះ",
    "Phone number": "លេខទូរស័ព្ទ",
    "Gender": "ភេទ",
    "Woman": "ស្ត្រី",
    "Man": "បុរស",
    "Other / not stated": "ផ្សេងៗ / មិនបញ្ជាក់",
    "Women": "ស្ត្រី",
    "Men": "បុរស",
    "Draft": "សេចក្តីព្រាង",
    "Voting": "កំពុងបោះឆ្នោត",
    "Approved by the community": "សហគមន៍បានអនុម័ត",
    "Submitted": "បានដាក់ជូន",
    "Under review": "កំពុងពិនិត្យ",
    "Negotiating": "កំពុងចរចា",
    "Agreed": "បានព្រមព្រៀង",
    "In progress": "កំពុងអនុវត្ត",
    "Completed": "បានបញ្ចប់",
    "Declined": "ត្រូវបានបដិសេធ",
    "Withdrawn": "បានដកវិញ",
    "Yes": "យល់ព្រម",
    "No": "មិនយល់ព្រម",
    "Abstain": "អនុប្បវាទ",
    "Approved": "បានអនុម័ត",
    "Rejected": "ត្រូវបានបដិសេធ",
    "No quorum": "មិនគ្រប់កូរ៉ុម",
    "Drainage & flooding": "លូ និងទឹកជំនន់",
    "Water supply": "ការផ្គត់ផ្គង់ទឹក",
    "Sanitation & toilets": "អនាម័យ និងបង្គន់",
    "Access lanes & paths": "ផ្លូវលំ និងផ្លូវដើរ",
    "Footbridges": "ស្ពានថ្មើរជើង",
    "Solid waste": "សំរាម",
    "Electricity & lighting": "អគ្គិសនី និងភ្លើងបំភ្លឺ",
    "Housing & tenure": "លំនៅដ្ឋាន និងកម្មសិទ្ធិ",
    "Health": "សុខភាព",
    "Safety": "សុវត្ថិភាព",
    "Other": "ផ្សេងៗ",
    "Footbridge": "ស្ពានថ្មើរជើង",
    "Concrete lane": "ផ្លូវបេតុង",
    "Drainage": "លូបង្ហូរទឹក",
    "Toilets": "បង្គន់",
    "Drinking water": "ទឹកស្អាត",
    "Consultation": "ការពិគ្រោះយោបល់",
    "General assembly": "មហាសន្និបាត",
    "Planning": "ការរៀបចំផែនការ",
    "Meeting with the municipality": "កិច្ចប្រជុំជាមួយរាជធានី/ក្រុង",
    "Open": "នៅបើក",
    "Closed": "បានបិទ",
    "Resolved": "បានដោះស្រាយ",
    "Community": "សហគមន៍",
    "Municipality": "រាជធានី/ក្រុង",
    "Comment": "មតិ",
    "Question": "សំណួរ",
    "Counter-offer": "សំណើតប",
    "Decision": "សេចក្តីសម្រេច",
    "Accept": "ទទួលយក",
    "Decline": "បដិសេធ",
    "Submit to municipality": "ដាក់ជូនរាជធានី/ក្រុង",
    "Withdraw": "ដកវិញ",
    "Open the vote": "បើកការបោះឆ្នោត",
    "Close the vote": "បិទការបោះឆ្នោត",
    "Acknowledge": "ទទួលស្គាល់",
    "Nothing new.": "គ្មានអ្វីថ្មីទេ។",
    "Mark all as read": "សម្គាល់ថាបានអានទាំងអស់",
    "You do not have access to this page.": "អ្នកមិនមានសិទ្ធិចូលមើលទំព័រនេះទេ។",
    "This page does not exist, or it was moved.": "ទំព័រនេះមិនមាន ឬត្រូវបានផ្លាស់ទី។",
    "Go to your home page": "ទៅទំព័រដើមរបស់អ្នក",
    "Please correct the fields marked below. What you typed is kept.": "សូមកែតម្រូវចន្លោះដែលបានសម្គាល់ខាងក្រោម។ អ្វីដែលអ្នកបានវាយត្រូវបានរក្សាទុក។",
    "Dashboard": "ផ្ទាំងតាមដាន",
}


def main() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f, locale="km")
    filled = 0
    for message in catalog:
        if message.id and not message.string and message.id in GLOSSARY:
            message.string = GLOSSARY[message.id]
            filled += 1
    with PO.open("wb") as f:
        write_po(f, catalog, sort_output=True, width=100)
    print(f"filled {filled} Khmer entries")


if __name__ == "__main__":
    main()
