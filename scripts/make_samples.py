"""Build data/sample/: realistic applications to the shipped postings, byte for byte repeatable.

Run `make samples` after editing the table below. Resumes are real PDFs (reportlab, with
"GitHub" linked by an annotation) and DOCX files (python-docx, with a hyperlink); the
messages imitate what Gmail, Outlook, Apple Mail and Thunderbird send.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

OUT = Path(__file__).resolve().parent.parent / "data" / "sample"
PACIFIC = timezone(timedelta(hours=-8))
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:52.0) Gecko/20100101 Thunderbird/52.5.0"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Resume:
    kind: str  # pdf | docx
    filename: str
    sections: list[tuple[str, list[str]]]
    github: str | None = None  # linked from the word "GitHub"


@dataclass
class Sample:
    file: str
    to: str
    name: str
    email: str
    subject: str
    sent: datetime
    body: str
    client: str = "gmail"  # gmail | outlook | apple | thunderbird | html_only
    resume: Resume | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reply_to_file: str | None = None  # a follow-up to this earlier sample


def pdf_resume(resume: Resume, name: str) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=1)
    pdf.setTitle(f"{name} - Resume")
    y = 740
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(72, y, name)
    y -= 22
    if resume.github:
        pdf.setFont("Helvetica", 10)
        pdf.drawString(72, y, "GitHub")
        pdf.linkURL(resume.github, (70, y - 3, 110, y + 10), relative=0)
        y -= 18
    for heading, lines in resume.sections:
        if y < 140:
            pdf.showPage()
            y = 740
        pdf.setFont("Helvetica-Bold", 12)
        pdf.drawString(72, y, heading)
        y -= 16
        pdf.setFont("Helvetica", 10)
        for line in lines:
            pdf.drawString(84, y, line)
            y -= 14
        y -= 8
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def docx_resume(resume: Resume, name: str) -> bytes:
    document = docx.Document()
    document.core_properties.created = datetime(2017, 1, 1)
    document.add_heading(name, level=1)
    if resume.github:
        paragraph = document.add_paragraph("Code: ")
        rel = document.part.relate_to(resume.github, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), rel)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "GitHub"
        run.append(text)
        link.append(run)
        paragraph._p.append(link)
    for heading, lines in resume.sections:
        document.add_heading(heading, level=2)
        for line in lines:
            document.add_paragraph(line, style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Rewrite a DOCX with fixed timestamps so the file is the same on every run."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2017, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def html_of(body: str, client: str) -> str:
    paragraphs = [p.replace("\n", "<br>\n") for p in body.strip().split("\n\n")]
    if client == "outlook":
        inner = "".join(f'<p class="MsoNormal">{p}<o:p></o:p></p>\n' for p in paragraphs)
        return (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "<style><!-- p.MsoNormal {margin:0in; font-family:Calibri} --></style></head>"
            f'<body lang="EN-US"><div class="WordSection1">\n{inner}</div></body></html>\n'
        )
    inner = "".join(f"<div>{p}</div><div><br></div>\n" for p in paragraphs)
    return f'<div dir="ltr">\n{inner}</div>\n'


def linkify(text: str) -> str:
    import re

    return re.sub(r"(https://github\.com/[\w./-]+)", r'<a href="\1">\1</a>', text)


def client_headers(sample: Sample) -> dict[str, str]:
    return {
        "outlook": {
            "X-Mailer": "Microsoft Outlook 16.0",
            "Thread-Index": "AdN0c2FtcGxlLWludGFrZQ==",
        },
        "apple": {"X-Mailer": "Apple Mail (2.3273)"},
        "thunderbird": {"User-Agent": THUNDERBIRD},
    }.get(sample.client, {})


def message_id(sample: Sample) -> str:
    stem = Path(sample.file).stem
    return f"<{stem}.{int(sample.sent.timestamp())}@{sample.email.split('@')[1]}>"


def build(sample: Sample, by_file: dict[str, Sample]) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((sample.name, sample.email))
    msg["To"] = sample.to
    msg["Subject"] = sample.subject
    msg["Date"] = format_datetime(sample.sent)
    msg["Message-ID"] = message_id(sample)
    msg["MIME-Version"] = "1.0"
    if sample.reply_to_file:
        parent = message_id(by_file[sample.reply_to_file])
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    for key, value in {**client_headers(sample), **sample.headers}.items():
        msg[key] = value
    body = sample.body.strip() + "\n"
    if sample.client == "html_only":
        msg.set_content(html_of(linkify(body), "gmail"), subtype="html", cte="quoted-printable")
    elif sample.client == "thunderbird":
        msg.set_content(
            body, params={"format": "flowed"}, cte="8bit" if not body.isascii() else "7bit"
        )
    else:
        msg.set_content(body, cte="quoted-printable")
        if sample.client in ("gmail", "outlook"):
            msg.add_alternative(
                html_of(linkify(body), sample.client), subtype="html", cte="quoted-printable"
            )
    if sample.resume:
        data = (pdf_resume if sample.resume.kind == "pdf" else docx_resume)(
            sample.resume, sample.name
        )
        maintype, subtype = (
            ("application", "pdf") if sample.resume.kind == "pdf" else DOCX_TYPE.split("/")
        )
        filename = sample.resume.filename
        name = ("utf-8", "", filename) if not filename.isascii() else filename
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for i, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"----=_Part_{i}_{zlib.crc32(sample.file.encode()):08x}")
    return msg.as_bytes()


def bounce(original: Sample) -> bytes:
    """A Postfix-style RFC 3464 delivery report for an acknowledgement that bounced."""
    sent = format_datetime(original.sent + timedelta(minutes=2))
    text = f"""Return-Path: <>
Date: {sent}
From: Mail Delivery System <MAILER-DAEMON@mx.numenta.com>
To: {original.to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <20171028143200.7F1A2@mx.numenta.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="7F1A2.1509201120/mx.numenta.com"

This is a MIME-encapsulated message.

--7F1A2.1509201120/mx.numenta.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.numenta.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{original.email}>: host mx.example.in[203.0.113.7] said: 550 5.1.1
    <{original.email}>: Recipient address rejected: User unknown

--7F1A2.1509201120/mx.numenta.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.numenta.com
Arrival-Date: {sent}

Final-Recipient: rfc822; {original.email}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{original.email}>: Recipient address rejected:
    User unknown

--7F1A2.1509201120/mx.numenta.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Numenta Careers <{original.to}>
To: {original.email}
Subject: Re: {original.subject}
Message-ID: <ack.{message_id(original)[1:]}
Auto-Submitted: auto-replied

--7F1A2.1509201120/mx.numenta.com--
"""
    return text.replace("\n", "\r\n").encode()


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=PACIFIC)


ML_COURSES = [
    "Coursework: Machine Learning, Probabilistic Graphical Models, Algorithms,",
    "Computational Neuroscience, Linear Algebra, Operating Systems",
]
SAMPLES: list[Sample] = []


def add(*samples: Sample) -> None:
    SAMPLES.extend(samples)


add(
    Sample(
        "careers/01-priya-raman.eml",
        "careers@numenta.com",
        "Priya Raman",
        "priya.raman@example.com",
        "Application: Machine Learning Engineer",
        at("2018-01-22", 9, 14),
        """Dear Numenta hiring team,

I am writing to apply for the Machine Learning Engineer position in Redwood City. For the past
three years I have built streaming anomaly detection systems at a logistics company, and I have
followed HTM research since reading "On Intelligence" in college.

I have contributed small fixes to NuPIC and ported parts of the temporal memory algorithm to C++
for a side project. My resume is attached; my code is on GitHub (linked in the resume).

Best regards,
Priya Raman""",
        resume=Resume(
            "pdf",
            "Priya_Raman_Resume.pdf",
            [
                (
                    "Experience",
                    [
                        "2015-2018  Senior Software Engineer, ShipStream, Oakland CA",
                        "Built real-time anomaly detection on 2M events/s (Python, C++, Kafka)",
                    ],
                ),
                (
                    "Education",
                    [
                        "B.S. Computer Science, University of Illinois at Urbana-Champaign, 2015",
                        *ML_COURSES,
                    ],
                ),
                ("Skills", ["Python, C++, NumPy, TensorFlow, Docker, PostgreSQL"]),
            ],
            github="https://github.com/praman-ml",
        ),
    ),
    Sample(
        "careers/02-daniel-okafor.eml",
        "careers@numenta.com",
        "Daniel Okafor",
        "d.okafor@example.net",
        "Machine Learning Engineer - Daniel Okafor",
        at("2018-01-23", 16, 2),
        """Hello,

Please consider me for the Machine Learning Engineer role. I am a research engineer with a
background in sequence learning and sensorimotor models, and I would be glad to work onsite in
Redwood City.

My public work is at https://github.com/dokafor/htm-experiments and my CV is attached.

Kind regards,
Daniel Okafor""",
        client="outlook",
        resume=Resume(
            "docx",
            "Daniel Okafor CV.docx",
            [
                (
                    "Experience",
                    [
                        "2016-present  Research Engineer, Vision Lab, Boston MA",
                        "Sequence learning models for robotic grasping",
                    ],
                ),
                ("Education", ["M.S. Electrical Engineering, Boston University, 2016"]),
            ],
            github="https://github.com/dokafor",
        ),
    ),
    Sample(
        "careers/03-marta-kowalska.eml",
        "careers@numenta.com",
        "Marta Kowalska",
        "marta.kowalska@example.org",
        "ML Engineer application",
        at("2018-01-24", 8, 40),
        """Dear Numenta team,

I would like to apply for the Machine Learning Engineer opening. I have five years of experience
with Python and C++, most recently building forecasting models for energy grids.

You can find my code at github.com/mkowalska.

Thank you for your time,
Marta Kowalska""",
        client="apple",
    ),
    Sample(
        "careers/04-marta-kowalska-resume.eml",
        "careers@numenta.com",
        "Marta Kowalska",
        "marta.kowalska@example.org",
        "Re: ML Engineer application",
        at("2018-01-24", 9, 5),
        """Apologies, I forgot to attach my resume. Here it is.

Marta

> On Jan 24, 2018, at 8:40 AM, Marta Kowalska <marta.kowalska@example.org> wrote:
>
> Dear Numenta team,
>
> I would like to apply for the Machine Learning Engineer opening.""",
        client="apple",
        reply_to_file="careers/03-marta-kowalska.eml",
        resume=Resume(
            "pdf",
            "Marta_Kowalska_CV.pdf",
            [
                (
                    "Experience",
                    [
                        "2013-2018  Data Scientist, GridWise, Warsaw",
                        "Short-term load forecasting with recurrent networks",
                    ],
                ),
                ("Education", ["M.Sc. Computer Science, Warsaw University of Technology, 2013"]),
            ],
        ),
    ),
    Sample(
        "careers/05-kenji-watanabe.eml",
        "careers@numenta.com",
        "Kenji Watanabe",
        "kenji.w@example.jp",
        "Application for ML Engineer",
        at("2018-01-25", 11, 30),
        """Dear Hiring Manager,

I am applying for the Machine Learning Engineer position. I have worked on time-series
prediction for manufacturing sensors for four years and I am excited by Numenta's approach to
streaming data.

I have attached my resume. I am willing to relocate to Redwood City.

Sincerely,
Kenji Watanabe""",
        client="thunderbird",
        resume=Resume(
            "pdf",
            "resume.pdf",
            [
                (
                    "Experience",
                    [
                        "2014-2018  Machine Learning Engineer, Hikari Sensors, Osaka",
                        "Predictive maintenance on 40,000 sensors",
                    ],
                ),
                ("Education", ["M.Eng. Information Science, Osaka University, 2014"]),
            ],
        ),
    ),
    Sample(
        "careers/06-out-of-office.eml",
        "careers@numenta.com",
        "Laura Chen",
        "laura.chen@example.com",
        "Automatic reply: Your application to Numenta",
        at("2018-01-26", 7, 0),
        """Thank you for your email. I am out of the office until February 5 with limited access to
email. For urgent matters please contact my colleague at ops@example.com.""",
        client="outlook",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    ),
    Sample(
        "interns/01-alex-morgan.eml",
        "interns@numenta.com",
        "Alex Morgan",
        "amorgan@example.edu",
        "Research Internship application - Winter 2017/2018",
        at("2017-09-12", 14, 5),
        """Dear Numenta Research Team,

I am a third-year PhD student in Computational Neuroscience and I would like to apply for the
Research Internship for Winter 2017/2018. My research models dendritic computation in layer 5
pyramidal neurons, and I would love to test those ideas against HTM's sensorimotor theory.

I am a US citizen. I can commit to 4 months full time.

My resume, with my relevant coursework, is attached, and my code is at
https://github.com/alexmorgan-neuro.

Best,
Alex Morgan""",
        resume=Resume(
            "pdf",
            "Alex_Morgan_CV.pdf",
            [
                (
                    "Education",
                    [
                        "Ph.D. candidate, Computational Neuroscience, University of Chicago",
                        "B.S. Physics, University of Michigan, 2014",
                        *ML_COURSES,
                    ],
                ),
                (
                    "Publications",
                    ["Morgan A., Lee J. Active dendrites and sequence memory. NeurIPS 2016"],
                ),
            ],
            github="https://github.com/alexmorgan-neuro",
        ),
    ),
    Sample(
        "interns/02-chloe-tremblay.eml",
        "interns@numenta.com",
        "Chloé Tremblay",
        "chloe.tremblay@example.ca",
        "Research Internship - Spring/Summer 2018",
        at("2017-10-03", 10, 20),
        """Hello,

I am writing to apply for the Research Internship in the Spring/Summer 2018 time frame. I am a
Canadian citizen, currently finishing my MSc in machine learning at McGill University.

My thesis studies continual learning without catastrophic forgetting, which I think connects
closely to your work on sparse distributed representations.

I have attached my resume (with coursework); my GitHub profile is linked inside it.

Merci,
Chloé Tremblay""",
        client="outlook",
        resume=Resume(
            "docx",
            "Chloe_Tremblay_Resume.docx",
            [
                (
                    "Education",
                    [
                        "M.Sc. Computer Science (Machine Learning), McGill University, 2018",
                        "Coursework: Deep Learning, Reinforcement Learning, Neural Computation",
                    ],
                ),
                ("Research", ["Continual learning with sparse representations"]),
            ],
            github="https://github.com/ctremblay",
        ),
    ),
    Sample(
        "interns/03-wei-zhang.eml",
        "interns@numenta.com",
        "Wei Zhang",
        "wzhang@example.edu",
        "Internship Program application (Algorithms) - Summer 2017",
        at("2016-10-05", 22, 10),
        """Dear Numenta,

I would like to apply for an Algorithms internship for Summer 2017. I'm an international student
currently enrolled in the Computer Science MS program at UC San Diego.

I have implemented several machine learning experiments in Python, including an anomaly detection
benchmark using NuPIC. Code: https://github.com/weizhang-ucsd/nab-experiments

My resume with relevant coursework is attached.

Thanks,
Wei Zhang""",
        resume=Resume(
            "pdf",
            "WeiZhang_resume.pdf",
            [
                (
                    "Education",
                    [
                        "M.S. Computer Science, University of California, San Diego (2018)",
                        "Coursework: Machine Learning, Algorithms, Statistical NLP, Databases",
                    ],
                ),
                ("Projects", ["Anomaly detection benchmark comparisons with NuPIC (Python)"]),
            ],
        ),
    ),
    Sample(
        "interns/04-jordan-lee.eml",
        "interns@numenta.com",
        "Jordan Lee",
        "jordan.lee@example.com",
        "Software Engineering Internship - Fall-Winter 2016",
        at("2016-06-14", 13, 45),
        """Hi Numenta team,

I saw that you have one open intern position for Fall-Winter 2016 and I would like to apply for a
Software Engineering internship. I have built web APIs in Python and JavaScript and deployed them
on AWS.

I am a permanent resident (Green Card holder) and a senior at San Jose State University.

My work is on GitHub: https://github.com/jordanlee-dev

Resume attached.

Jordan""",
        client="html_only",
        resume=Resume(
            "pdf",
            "Jordan Lee - Resume.pdf",
            [
                (
                    "Education",
                    [
                        "B.S. Software Engineering, San Jose State University (expected 2017)",
                        "Coursework: Data Structures, Web Architecture, Distributed Systems",
                    ],
                ),
                ("Experience", ["Summer 2015  Web Developer Intern, BrightApps, San Jose"]),
            ],
            github="https://github.com/jordanlee-dev",
        ),
    ),
    Sample(
        "interns/05-zoe-muller.eml",
        "interns@numenta.com",
        "Zoë Müller",
        "zoe.mueller@example.de",
        "Bewerbung: Internship Program, Summer 2016",
        at("2016-02-10", 9, 0),
        """Dear Numenta team,

I would like to apply for an internship in Summer 2016 in the Algorithms area. I am a US citizen
(dual US/German) studying at the Technical University of Munich.

My GitHub: https://github.com/zmueller

My CV with coursework is attached.

Viele Grüße,
Zoë Müller""",
        client="apple",
        resume=Resume(
            "pdf",
            "Zoë_Müller_Lebenslauf.pdf",
            [
                (
                    "Education",
                    [
                        "B.Sc. Informatics, Technical University of Munich (expected 2017)",
                        "Coursework: Algorithms, Pattern Recognition, Neural Networks",
                    ],
                ),
            ],
        ),
    ),
    Sample(
        "interns/06-li-ming.eml",
        "interns@numenta.com",
        "李明",
        "li.ming@example.cn",
        "研究实习申请 / Research Internship application",
        at("2017-11-20", 20, 15),
        """Dear Numenta Research Group,

I am a PhD student at Stanford University working on computational models of grid cells, and I
would like to apply for the Research Internship. I am enrolled at Stanford as an international
student.

My publications and code are listed in my resume (attached); code at https://github.com/liming-grid.

Best regards,
Li Ming""",
        resume=Resume(
            "pdf",
            "LiMing_CV.pdf",
            [
                (
                    "Education",
                    [
                        "Ph.D. student, Neuroscience, Stanford University",
                        "Coursework: Computational Neuroscience, Machine Learning, Dynamics",
                    ],
                ),
                (
                    "Publications",
                    ["Li M. et al. Grid cell path integration in spiking networks. 2017"],
                ),
            ],
            github="https://github.com/liming-grid",
        ),
    ),
    Sample(
        "interns/07-rahul-verma.eml",
        "interns@numenta.com",
        "Rahul Verma",
        "rahul.verma@example.in",
        "Internship application January-March 2018",
        at("2017-10-28", 6, 30),
        """Dear Sir/Madam,

I am interested in an internship at Numenta from January-March 2018. I am currently working as a
software developer in Bangalore and I am not a US citizen; I would require H-1B visa sponsorship.

My code: https://github.com/rverma-dev

Please find my resume attached.

Regards,
Rahul Verma""",
        client="outlook",
        resume=Resume(
            "pdf",
            "Rahul_Verma_Resume.pdf",
            [
                ("Experience", ["2015-2018  Software Developer, Infotech Solutions, Bangalore"]),
                ("Education", ["B.Tech Computer Science, VIT University, 2015"]),
            ],
        ),
    ),
    Sample(
        "interns/08-is-it-paid.eml",
        "interns@numenta.com",
        "Sam Patel",
        "sam.patel@example.edu",
        "Question about internships",
        at("2017-10-30", 12, 0),
        """Hi,

Quick question before I apply: is the internship paid, and do you offer housing assistance?

Thanks,
Sam""",
    ),
    Sample(
        "interns/09-jose-alvarez.eml",
        "interns@numenta.com",
        "José Álvarez",
        "jose.alvarez@example.mx",
        "Research Internship",
        at("2017-12-01", 17, 25),
        """Estimado equipo de Numenta,

I am a Mexican citizen and a PhD student in machine learning at UNAM. I would like to join the
Research Internship for 3 to 4 months starting in June 2018.

I work on sequence learning with spiking networks; my code is at https://github.com/jalvarez-ml.
My resume with coursework is attached.

Saludos,
José Álvarez""",
        client="thunderbird",
        resume=Resume(
            "docx",
            "CV_Jose_Alvarez.docx",
            [
                (
                    "Education",
                    [
                        "Ph.D. student, Computer Science, Universidad Nacional Autónoma de México",
                        "Coursework: Machine Learning, Neural Networks, Probability",
                    ],
                ),
            ],
            github="https://github.com/jalvarez-ml",
        ),
    ),
    Sample(
        "interns/10-emily-carter.eml",
        "interns@numenta.com",
        "Emily Carter",
        "ecarter@example.edu",
        "Internship Program - Software Engineering",
        at("2016-11-02", 15, 40),
        """Hello,

I'm a junior at Georgia Tech studying computer science and I would like to apply for the
Software Engineering internship (backend/web development). I am a US citizen.

I'd like to intern next summer for about 12 weeks. Resume attached; GitHub:
https://github.com/emilycarter

Best,
Emily""",
        resume=Resume(
            "pdf",
            "EmilyCarter_Resume.pdf",
            [
                (
                    "Education",
                    [
                        "B.S. Computer Science, Georgia Institute of Technology (expected 2018)",
                        "Coursework: Algorithms, Web Development, Databases",
                    ],
                ),
            ],
            github="https://github.com/emilycarter",
        ),
    ),
)


def main() -> None:
    by_file = {s.file: s for s in SAMPLES}
    written = {}
    for sample in SAMPLES:
        written[sample.file] = build(sample, by_file)
    written["interns/11-bounce.eml"] = bounce(by_file["interns/07-rahul-verma.eml"])
    for name, data in written.items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(written)} messages under {OUT}")


if __name__ == "__main__":
    main()
